"""A form's comment made into the person's own message: entities decoded, mojibake fixed, reply headers and
quoted chains, signatures and legal disclaimers taken out. Pure: text in, text out (docs/briefs.md, "Their own
words").

The libraries do the well-known parts (html.unescape, ftfy for mojibake, quotequail and mail-parser-reply for
reply chains, signatures and the disclaimers they know); the rest is a last pass over what is left, line by
line, for the sign-offs, contact blocks and confidentiality notices the libraries miss in German, French and
Spanish.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import ftfy
import quotequail
from mailparser_reply import EmailReplyParser

LANGUAGES = ("en", "de", "fr", "es")
QUOTE_LIMIT = 400  # the quote in the brief; the whole message is one click away
# A pasted novel is read up to here: its first 20,000 characters and 300 lines (the person's own text is at the
# top; what runs on past that is a quoted chain), which keeps the reply parsers' time bounded.
MAX_INPUT = 20_000
MAX_LINES = 300


@dataclass(frozen=True)
class Cleaned:
    text: str  # the person's own message ("" when nothing of theirs is left)
    forwarded: bool  # the comment was (or carried) a forwarded or replied-to email
    removed: tuple[str, ...]  # what was taken out, in words ("a quoted email", "a signature", ...)


# Reply and forward headers, in the four languages (and the Outlook separators).
_SEPARATOR = re.compile(
    r"^\s*(?:-{2,}\s*(?:original message|forwarded message|urspr[üu]ngliche nachricht|weitergeleitete nachricht|"
    r"message d'origine|message transf[ée]r[ée]|mensaje original|mensaje reenviado)\s*-{2,}|"
    r"begin forwarded message:|anfang der weitergeleiteten nachricht:|d[ée]but du message r[ée]exp[ée]di[ée]\s*:|"
    r"_{10,})\s*$",
    re.I | re.M,
)
_FORWARD_WORDS = re.compile(
    r"forward|weitergeleitet|transf[ée]r|r[ée]exp[ée]di|reenviad|\b(?:fw|fwd|wg|tr|rv)\s*:", re.I)
HEADER_NAMES = ("from", "sent", "to", "cc", "bcc", "date", "subject", "von", "gesendet", "an", "betreff", "datum",
                "de", "envoyé", "envoye", "à", "a", "objet", "date", "enviado", "para", "asunto", "fecha", "reply-to")
_HEADER_LINE = re.compile(r"^[>*\s]*(?:" + "|".join(re.escape(h) for h in HEADER_NAMES) + r")\s?:\s*\S", re.I)
# A subject line standing alone on top of a pasted forward ("FW: Demo request", "AW: Angebot").
_SUBJECT_LINE = re.compile(r"^\s*(?:(?:re|fw|fwd|wg|aw|tr|rv|sv|vs)\s*:\s*)+.{0,200}$", re.I)
_WROTE = re.compile(
    r"^\s*(?:on\b.{4,200}\bwrote|am\b.{4,200}\bschrieb|le\b.{4,200}\ba [ée]crit|el\b.{4,200}\bescribi[óo])\s*:?\s*$",
    re.I | re.M)
_SIGN_OFF = re.compile(
    r"^\s*(?:(?:best|kind|warm|many thanks and|with kind)?\s*regards|best(?: wishes)?|cheers|thanks(?: again| and regards)?|"
    r"thank you|sincerely|yours(?: sincerely| truly)?|all the best|"
    r"mit freundlichen gr(?:ü|ue)(?:ß|ss)en|(?:viele|beste|liebe|freundliche|herzliche)n? gr(?:ü|ue)(?:ß|ss)e|"
    r"gru(?:ß|ss)|mfg|lg|vg|danke(?: und gr(?:ü|ue)(?:ß|ss)e)?|"
    r"(?:bien |tr[èe]s )?cordialement|bien [àa] vous|salutations(?: distingu[ée]es)?|merci(?: d'avance)?|"
    r"meilleures salutations|bonne journ[ée]e|"
    r"(?:un )?saludos?(?: cordiales)?|atentamente|un abrazo|gracias(?: de antemano)?|cordiales saludos)"
    r"\s*[,.!]?\s*$",
    re.I,
)
_SIG_DELIMITER = re.compile(r"^\s*(?:--|__|—|–)\s*$")
_SENT_FROM = re.compile(r"^\s*(?:sent from my|get outlook for|gesendet von meinem|envoy[ée] de mon|enviado desde mi)\b",
                        re.I)
_DISCLAIMER = re.compile(
    r"confidential|intended (?:solely |only )?for|received this (?:e-?mail|message|communication) in error|"
    r"privileged|disclaimer|vertraulich|nicht der (?:richtige|beabsichtigte) (?:adressat|empf[äa]nger)|"
    r"irrt[üu]mlich erhalten|unbefugte|confidentiel|destinataire|re[çc]u ce (?:message|courriel|e-?mail) par erreur|"
    r"confidencial|destinatario|recibido (?:este|esta) (?:mensaje|correo|comunicaci[óo]n) por error|"
    r"aviso legal|mention l[ée]gale|rechtlicher hinweis|please consider the environment",
    re.I,
)
_PHONE = re.compile(
    r"(?:\b(?:tel|phone|mobile|mob|cell|fax|direct|handy|telefon|t[ée]l[ée]phone|portable|m[óo]vil|tel[ée]fono|"
    r"office|switchboard|zentrale)\b\.?\s*:?\s*)?\+?\(?\d[\d\s()./-]{6,}\d", re.I)
_CONTACT_WORD = re.compile(
    r"^\s*(?:tel|phone|mobile|mob|cell|fax|direct|handy|telefon|t[ée]l[ée]phone|portable|m[óo]vil|tel[ée]fono|"
    r"e-?mail|web|www|site|adresse|address|direcci[óo]n)\b", re.I)
_URL_OR_MAIL = re.compile(r"^\s*[<(]?(?:https?://|www\.)\S+\s*$|^\s*[<(]?[\w.+-]+@[\w-]+(?:\.[\w-]+)+[>)]?\s*$", re.I)
_ADDRESS = re.compile(
    r"\b\d{1,5}\s?[a-z]?,?\s+[A-ZÄÖÜ][\w'-]+\s+(?:street|st|avenue|ave|road|rd|blvd|boulevard|lane|drive|way|suite)\b|"
    r"\b[\w'-]*(?:stra(?:ß|ss)e|str\.|weg|platz|allee|gasse|ring)\s+\d{1,4}\b|"
    r"\b(?:rue|avenue|boulevard|bd|all[ée]e|chemin|place|calle|avda|avenida|paseo|plaza|c/)\s+[\w'-]+|"
    r"\b\d{4,5}\s+[A-ZÄÖÜ][\wäöüß-]+(?:\s+(?:am|an der|cedex|\w+))?\s*(?:,|$)|"
    r"\b\d{1,5}\s+\w+(?:\s\w+){0,3},\s+[A-Z][\w ]+,?\s+[A-Z]{2}\s+\d{5}\b|"
    r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b",
    re.I,
)
_TAG = re.compile(r"</?(?:br|p|div|span|b|i|u|strong|em|a|font|table|tr|td|th|li|ul|ol|blockquote|html|body|head)"
                  r"\b[^<>]{0,500}>", re.I)
_BLOCK_TAG = re.compile(r"<(?:br|/p|/div|/li|/tr|/blockquote)\b[^<>]{0,500}>", re.I)
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")


_BLANKS = re.compile(r"[^\S\n]{2,}")


def decode(text: str) -> str:
    """Entities decoded (twice at most: "&amp;amp;" is how an encoded "&amp;" arrives), HTML line breaks made
    newlines and tags dropped, mojibake fixed, invisible characters gone, line ends normalised."""
    for _ in range(2):
        unescaped = html.unescape(text)
        if unescaped == text:
            break
        text = unescaped
    if _TAG.search(text):
        text = _TAG.sub("", _BLOCK_TAG.sub("\n", text))
    text = ftfy.fix_text(text, normalization="NFC", uncurl_quotes=False)  # their quotes as typed
    text = _INVISIBLE.sub("", text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " "))
    # A run of blanks says nothing, and would cost the line patterns time in proportion to its square.
    return _BLANKS.sub(" ", text)


@lru_cache(maxsize=1)
def _reply_parser() -> Any:
    return EmailReplyParser(languages=list(LANGUAGES))


def _has_words(text: str) -> bool:
    return len(re.findall(r"[^\W\d_]{2,}", text)) >= 3


def _split_chain(text: str) -> tuple[str, str | None, bool]:
    """The text above the first reply or forward header, the quoted message's own body (when the person wrote
    nothing above it), and whether a chain was there at all."""
    forwarded = bool(_SEPARATOR.search(text))
    try:
        unwrapped = quotequail.unwrap(text)
    except Exception:  # a third-party parser on lead text: it must not fail the brief
        unwrapped = None
    if unwrapped:
        top = "\n".join(line for line in (unwrapped.get("text_top") or "").split("\n") if not _SUBJECT_LINE.match(line))
        inner = unwrapped.get("text") or None
        forwarded = forwarded or unwrapped.get("type") in ("forward", "reply", "quote") and bool(
            unwrapped.get("from") or unwrapped.get("subject") or unwrapped.get("date"))
        return top, inner, forwarded or _FORWARD_WORDS.search(unwrapped.get("subject") or "") is not None
    # Not a chain quotequail knows: the first header block or separator of any of the four languages.
    lines = text.split("\n")
    for i, line in enumerate(lines):
        header_block = _HEADER_LINE.match(line) and sum(
            1 for x in lines[i:i + 6] if _HEADER_LINE.match(x)) >= 2
        if _SEPARATOR.match(line) or _WROTE.match(line) or header_block:
            rest = lines[i + 1:]
            while rest and (not rest[0].strip() or _HEADER_LINE.match(rest[0])):
                rest = rest[1:]
            return "\n".join(lines[:i]), "\n".join(rest) or None, True
    return text, None, forwarded


def _library_body(text: str) -> str:
    """mail-parser-reply's latest reply, without its signature and disclaimers; the text itself if it fails."""
    try:
        message = _reply_parser().read(text)
    except Exception:  # a third-party parser on lead text: it must not fail the brief
        return text
    replies = [r for r in message.replies if r.body.strip()]
    if not replies:
        return text
    body = str(replies[0].body)
    # It cuts at a signature down to the end; a first reply that is only a header means nothing of ours was there.
    return body if _has_words(body) else text


def _is_contact_line(line: str) -> bool:
    s = line.strip()
    if not s or len(s) > 160:
        return False
    if _CONTACT_WORD.match(s) or _URL_OR_MAIL.match(s) or _ADDRESS.search(s):
        return True
    if _PHONE.search(s) and len(_PHONE.sub("", s).strip(" |,;:·-")) < 25:
        return True
    return "|" in s and len(s) < 120 and not s.endswith((".", "?", "!"))


def _is_name_line(line: str) -> bool:
    """A short line of capitalised words with no sentence punctuation: a name, a title, a company."""
    s = line.strip()
    if not s or len(s) > 70 or s.endswith((".", "?", "!", ":")):
        return False
    words = re.findall(r"[^\W\d_][\w'.&-]*", s)
    return 0 < len(words) <= 8 and sum(1 for w in words if w[0].isupper()) >= max(1, len(words) // 2)


def _drop_disclaimers(lines: list[str], removed: list[str]) -> list[str]:
    """A paragraph that reads as a legal notice goes whole, with the notices after it."""
    out: list[str] = []
    paragraph: list[str] = []

    def flush() -> None:
        # The notice may start inside a paragraph, right under their last sentence: from that line on.
        for start in range(len(paragraph)):
            text = " ".join(paragraph[start:])
            if _DISCLAIMER.search(paragraph[start]) and (
                    len(text) > 80 or re.match(r"\s*(?:\w+\s){0,3}\w+\s*:", text)) and _legal(text):
                if "a legal disclaimer" not in removed:
                    removed.append("a legal disclaimer")
                out.extend(paragraph[:start])
                break
        else:
            out.extend(paragraph)
        paragraph.clear()

    for line in lines:
        if line.strip():
            paragraph.append(line)
        else:
            flush()
            out.append(line)
    flush()
    return out


def _legal(text: str) -> bool:
    """A notice, not a buyer saying their project is confidential: at least two legal phrases, or one and the
    words of a notice (this e-mail, the addressee, delete it, notify the sender)."""
    notice = re.search(
        r"e-?mail|message|nachricht|courriel|mensaje|correo|addressee|adressat|empf[äa]nger|destinataire|"
        r"destinatario|delete|l[öo]schen|supprimer|eliminar|borrar|notify|benachrichtigen|informer|avise",
        text, re.I)
    return len(_DISCLAIMER.findall(text)) >= 2 or (notice is not None and len(text) > 60)


def _signature_sized(rest: list[str]) -> bool:
    """At most ten short lines: what follows a sign-off in a signature, not a message that goes on."""
    filled = 0
    for line in rest:
        if line.strip():
            filled += 1
            if filled > 10 or len(line) >= 160:
                return False
    return True


def _drop_signature(lines: list[str], removed: list[str]) -> list[str]:
    """From a sign-off, a "--" delimiter or "Sent from my phone" to the end, when what follows is a signature's
    size; then trailing contact lines (phones, addresses, web sites) and the names above them."""
    for i, line in enumerate(lines):
        if i == 0 or len(line) > 80:
            continue
        if _SIG_DELIMITER.match(line) or _SENT_FROM.match(line) or (_SIGN_OFF.match(line) and _signature_sized(lines[i + 1:])):
            removed.append("a signature")
            return lines[:i]
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1
    start = end
    contact = False
    while start and (not lines[start - 1].strip() or _is_contact_line(lines[start - 1])
                     or _is_name_line(lines[start - 1])):
        contact = contact or _is_contact_line(lines[start - 1])
        start -= 1
    if contact and start < end and any(x.strip() for x in lines[:start]):
        removed.append("a signature")
        return lines[:start]
    return lines


# A line that only greets ("Hi there,", "Guten Tag,", "Bonjour,", "Hola,"): not worth the quote's room.
GREETING_LINE = re.compile(
    r"^\s*(?:hi|hello|hey|dear|good (?:morning|afternoon)|hallo|guten (?:tag|morgen)|sehr geehrte\w*|liebe\w*|"
    r"bonjour|bonsoir|madame|monsieur|cher|ch[èe]re|hola|buen(?:os|as) (?:d[íi]as|tardes)|estimad[oa]s?)\b"
    r"[^.!?\n]{0,60}[,:!]?\s*$", re.I)


def _tidy(text: str) -> str:
    lines = [line.rstrip() for line in text.split("\n")]
    lines = [line for line in lines if not line.lstrip().startswith(">")]
    while lines and (not lines[0].strip() or GREETING_LINE.match(lines[0])):
        lines = lines[1:]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def clean(raw: str | None) -> Cleaned:
    """The person's own message out of a form's comment (see the module's docstring)."""
    if not raw or not raw.strip():
        return Cleaned("", False, ())
    text = "\n".join(decode(raw[:MAX_INPUT]).split("\n")[:MAX_LINES])
    removed: list[str] = []
    top, inner, chained = _split_chain(text)
    if chained:
        removed.append("a quoted email")
    own = top if _has_words(_tidy(top)) else (inner or top)
    if chained and own is inner:
        # Nothing of theirs above the chain: the message they forwarded is what they sent us; its own chain
        # (a reply inside a forward) goes too.
        own = _split_chain(own)[0] or own
    body = _library_body(own)
    if len(body.strip()) < len(own.strip()) - 10:
        removed.append("a signature")  # and what came after it: mail-parser-reply cuts from a sign-off down
    own = body
    lines = _drop_disclaimers(own.split("\n"), removed)
    lines = _drop_signature(lines, removed)
    lines = _drop_disclaimers(lines, removed)
    lines = [line for line in lines if not _HEADER_LINE.match(line) or not chained]
    cleaned = _tidy("\n".join(lines))
    if not _has_words(cleaned) and _has_words(_tidy(text)) and not chained:
        cleaned = _tidy(text)  # cleaning took everything: show what they typed rather than nothing
    return Cleaned(cleaned, chained and bool(_SEPARATOR.search(text) or _FORWARD_WORDS.search(text)),
                   tuple(dict.fromkeys(removed)))


_SENTENCE_END = re.compile(r"[.!?…](?=\s|$)|[。！？]")


def short_quote(text: str, limit: int = QUOTE_LIMIT) -> str:
    """At most `limit` characters, cut after a sentence when one ends in the last 40% of the room, else at a
    word boundary, with "…" when anything was left out."""
    text = text.strip()
    if len(text) <= limit:
        return text
    room = text[: limit - 1]
    ends = [m.end() for m in _SENTENCE_END.finditer(room)]
    if ends and ends[-1] >= limit * 0.6:
        return room[: ends[-1]].rstrip() + " …"
    cut = max(room.rfind(" "), room.rfind("\n"))
    if cut < limit * 0.5:
        cut = len(room)
    return room[:cut].rstrip(" ,;:-–—\n") + "…"
