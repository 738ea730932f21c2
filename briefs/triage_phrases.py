"""The words triage reads, in English, German, French and Spanish: regular expressions over folded text.

Folded text (briefs.triage.fold_text): lower case, accents removed, ß -> ss, curly quotes -> ', runs of white
space -> one space. So every pattern here is written without accents ("arretez", "loschen"), and a German
umlaut is also accepted spelled out ("(?:o|oe)"). Each list is joined into one compiled pattern per group, once,
when briefs.triage is imported.

Channel-bound requests ("do not call me") are kept apart from requests about any contact: "please don't call,
email is better" is a preference, not a removal request (PREFERS_EMAIL / PREFERS_CALL below)."""

from __future__ import annotations

# Where a clause ends: a request only counts when nothing qualifies it ("don't call before 3pm" is not one).
_END = r"(?=\s*(?:[.!?,;:)\n]|$|\b(?:please|thanks?|thank you|bitte|danke|merci|svp|s'il vous plait|por favor|gracias)\b))"
_ME = r"(?:me|us|this (?:e-?mail )?address|my (?:e-?mail|address))"
# "by email or phone", "in any way": still every channel.
_BY = r"(?: (?:by|via|per) (?:e-?mail|mail|phone|telephone|text)(?:,? (?:or|and|nor) (?:by )?(?:e-?mail|mail|phone|telephone|text))?| in any way)?"
# Words that may close a request without qualifying it.
_AGAIN = r"(?: (?:again|anymore|any more|ever again|ever|either|at all))?"

# --- Do not contact: asking to be removed or left alone, about every channel ------------------------------------
DO_NOT_CONTACT_ANY = [
    # English
    r"\b(?:please\s+)?remove (?:me|us|my (?:e-?mail|address|name|details|data|contact(?: details)?))\b(?: from)?",
    r"\btake (?:me|us|my (?:e-?mail|name|address)) off\b",
    rf"\b(?:please\s+)?unsubscribe {_ME}\b",
    r"^\W*(?:please\s+)?unsubscribe\W*$",
    r"\b(?:i|we) (?:want|would like|wish|need) to (?:be )?unsubscribe",
    rf"\b(?:do not|don'?t|never|pls don'?t|please don'?t) (?:ever )?contact {_ME}{_BY}{_AGAIN}{_END}",
    r"\b(?:do not|don'?t|no longer) (?:want|wish) to be (?:contacted|called|e-?mailed)\b",
    r"\bno longer wish to (?:be contacted|receive|hear from)\b",
    r"\bstop (?:contacting|harass(?:ing)?|spamming|bothering|pestering) (?:me|us)\b",
    rf"\bstop contacting{_END}",
    r"\bleave (?:me|us) alone\b",
    r"\b(?:i|we) (?:never|did not|didn'?t) (?:sign(?:ed)? up|subscribe[d]?|opt(?:ed)? in|ask(?:ed)? (?:for|to be contacted))\b",
    r"\bnever (?:signed|opted) (?:up|in)\b",
    r"\bopt (?:me|us) out\b",
    r"\b(?:delete|erase|remove) (?:all )?(?:my|our) (?:personal )?(?:data|information|info|details|records?)\b",
    r"\bright to (?:be forgotten|erasure)\b",
    r"\b(?:i|we) (?:have )?already unsubscribed\b",
    r"\bnot (?:be )?contact(?:ed)? (?:me )?(?:again|anymore|any more|ever)\b",
    r"\b(?:no|not) (?:interested|intereste), (?:stop|do not|don'?t)\b",
    # German
    r"\b(?:nehmen|entfernen|streichen|loschen|loeschen|tragen) sie (?:mich|uns|meine (?:e-?mail(?:-adresse)?|adresse|daten))\b",
    r"\b(?:aus|von) (?:ihrem|ihrer|dem|der|ihren) (?:verteiler|mailingliste|e-?mail-?liste|liste|newsletter|datenbank|kartei)\b.{0,30}\b(?:nehmen|entfernen|streichen|loschen|loeschen|austragen)\b",
    r"\bbitte (?:austragen|abmelden)\b",
    r"^\W*(?:bitte )?(?:abmelden|austragen)\W*$",
    r"\bnicht mehr (?:kontaktiert|angeschrieben|angerufen|belastigt|belaestigt) werden\b",
    r"\bmelden sie mich\b.{0,20}\bab\b",
    r"\bmich (?:bitte )?(?:abmelden|austragen)\b",
    rf"\bkontaktieren sie (?:mich|uns) (?:bitte )?nicht(?: mehr)?{_END}",
    r"\b(?:bitte )?(?:keine|keinerlei) (?:weiteren? )?(?:kontaktaufnahme|kontakt|werbung|newsletter)\b(?!-)",
    r"\b(?:lassen sie|lasst) (?:mich|uns) in ruhe\b",
    r"\bnie (?:angemeldet|registriert|eingetragen)\b",
    r"\b(?:ich|wir) (?:habe|haben) (?:mich|uns) nie\b",
    r"\b(?:ich|wir) (?:habe|haben) (?:mich|uns) (?:bereits|schon) (?:abgemeldet|ausgetragen)\b",
    r"\bwiderspreche\b.{0,40}\b(?:daten|werbung|nutzung|verarbeitung|verwendung)\b",
    r"\bwerbewiderspruch\b",
    r"\b(?:loschen|loeschen) sie\b.{0,30}\b(?:daten|mich|kontakt)\b",
    r"\bmeine daten\b.{0,20}\b(?:loschen|loeschen)\b",
    # French
    r"\b(?:me|nous) (?:retirer|supprimer|desinscrire|desabonner|enlever|radier|rayer)\b",
    r"\b(?:retirez|supprimez|desinscrivez|desabonnez|enlevez|radiez)[- ](?:moi|nous)\b",
    r"\bne plus (?:me|nous) (?:contacter|recontacter|solliciter|relancer)\b",
    r"\bne (?:me|nous) (?:contactez|recontactez|sollicitez|relancez) plus\b",
    rf"\bne (?:me|nous) (?:contactez|recontactez|sollicitez|relancez) (?:pas|jamais){_END}",
    r"\barretez de (?:me|nous) (?:contacter|solliciter|harceler|spammer|relancer)\b",
    r"\bje ne (?:veux|souhaite|desire) plus (?:etre (?:contacte|sollicite|derange|relance)|recevoir|aucun (?:mail|e-?mail|message|appel|courriel))",
    r"\bje ne me suis jamais inscrit",
    r"\bje (?:me suis|suis) deja desinscrit",
    r"\bdroit (?:a l'|a l )?(?:effacement|oubli)\b",
    r"\bsupprime[rz]? (?:toutes )?mes (?:donnees|coordonnees|informations)\b",
    r"\bfoutez[- ]moi la paix\b",
    # Spanish
    r"\b(?:dejen|deje|dejad|deja) de (?:contactarme|contactarnos|molestarme|molestarnos|acosarme|escribirme y llamarme)\b",
    rf"\bno (?:me|nos) (?:contacten|contacte|contactes|vuelvan a contactar|molesten|moleste)(?: mas| nunca mas)?{_END}",
    r"\bno quiero que (?:me|nos) (?:contacten|llamen|escriban|molesten)\b",
    r"\b(?:darme|darnos|denme|dame|deme) de baja\b",
    r"\b(?:quiero|deseo|quisiera|solicito) (?:la )?baja\b",
    r"\b(?:borrenme|eliminenme|quitenme|saquenme|borradme|eliminadme|borrame|sacadme)\b",
    r"\b(?:borren|eliminen|quiten|supriman) (?:mis datos|mi (?:correo|email|direccion|contacto))\b",
    r"\bnunca me (?:suscribi|registre|di de alta|inscribi)\b",
    r"\bya me di de baja\b",
    r"\bderecho (?:al olvido|de supresion)\b",
]

# Requests about email only: "stop emailing me, call me instead" is a hand-raiser with a preference.
DO_NOT_CONTACT_EMAIL = [
    r"\bstop (?:e-?mailing|mailing|spamming|sending) (?:me|us)\b",
    rf"\bstop (?:e-?mailing|mailing){_END}",
    r"\bstop sending (?:me |us )?(?:these |those |your |all )?(?:e-?mails|mails|messages|newsletters?|spam|junk|this)\b",
    r"\b(?:no|not any) more (?:e-?mails|mails|newsletters?|marketing|spam|messages)\b",
    rf"\b(?:do not|don'?t|never) (?:ever )?(?:e-?mail|mail|send) (?:me|us)(?: (?:again|anymore|any more|emails?))?{_END}",
    r"\bi (?:do not|don'?t) want (?:to (?:receive|get) )?(?:your |these |any )?(?:e-?mails|mails|newsletters?|messages)\b",
    r"\bkeine (?:weiteren? )?(?:e-?mails|mails|nachrichten|zusendungen)\b(?:.{0,20}\bmehr\b)?",
    r"\bhoren sie auf,? mir\b|\bhoeren sie auf,? mir\b",
    r"\bschreiben sie mir (?:bitte )?nicht mehr\b",
    r"\barretez de m'(?:envoyer|ecrire)\b|\barretez de m (?:envoyer|ecrire)\b",
    r"\bne m'(?:envoyez|ecrivez) plus\b|\bne m (?:envoyez|ecrivez) plus\b",
    r"\bplus (?:d'|de )(?:e-?mails?|mails?|courriels?|messages?|newsletters?)\b",
    r"\b(?:dejen|deje|dejad|deja) de (?:enviarme|enviarnos|escribirme|escribirnos|mandarme|mandarnos)\b",
    r"\bno (?:me|nos) (?:envien|envie|manden|mande|escriban|escriba)(?: mas)?\b",
    r"\bno quiero recibir\b",
]

# Requests about the phone only.
DO_NOT_CONTACT_PHONE = [
    rf"\b(?:do not|don'?t|never|please don'?t|pls don'?t) (?:ever )?(?:call|phone|ring|text) (?:me|us)?{_AGAIN}{_END}",
    rf"\bstop (?:calling|phoning|ringing|texting)(?: (?:me|us))?{_END}",
    r"\bstop calling (?:me|us)\b",
    rf"\bno (?:more )?(?:phone )?calls(?: please)?{_END}",
    r"\brufen sie (?:mich|uns) (?:bitte )?nicht (?:mehr )?an\b",
    r"\bkeine (?:weiteren? )?anrufe\b(?:.{0,20}\bmehr\b)?" + _END,
    r"\bbitte nicht (?:mehr )?anrufen\b" + _END,
    r"\bne (?:m'|m |nous )(?:appelez|telephonez) plus\b",
    r"\bne (?:plus )?(?:m'|m |nous )(?:appeler|telephoner)\b" + _END,
    r"\barretez de (?:m'|m |nous )(?:appeler|telephoner)\b",
    r"\bno (?:me|nos) (?:llamen|llame|llames)(?: mas)?\b" + _END,
    r"\b(?:dejen|deje|dejad|deja) de llamar(?:me|nos)\b",
]

# A channel-bound request next to one of these is a preference, not a removal request.
PREFERS_EMAIL = [
    r"\be-?mail (?:is|works) (?:better|best|fine|preferred)\b",
    r"\b(?:prefer|rather) (?:an? )?e-?mail\b",
    r"(?<!not )(?<!n't )(?<!dont )(?<!never )(?<!stop )\b(?:e-?mail|write to) me (?:instead|please|at|on)\b",
    r"\b(?:by|via|per) e-?mail\b",
    r"\b(?:lieber|bitte) per (?:e-?mail|mail)\b",
    r"\bper (?:e-?mail|mail)\b",
    r"\b(?:je )?(?:prefere|preferons) (?:un )?(?:e-?mail|mail|courriel)\b",
    r"\bpar (?:e-?mail|mail|courriel)\b",
    r"\b(?:mejor|prefiero) (?:por )?(?:correo|e-?mail|email)\b",
    r"\bpor (?:correo|e-?mail|email)\b",
]
PREFERS_CALL = [
    r"(?<!not )(?<!n't )(?<!dont )(?<!never )(?<!stop )\b(?:call|phone|ring) me\b",
    r"\bgive me a (?:call|ring)\b",
    r"\b(?:prefer|rather) (?:a )?(?:call|phone)\b",
    r"\brufen sie mich\b.{0,30}\ban\b",
    r"\blieber (?:telefonisch|anrufen)\b",
    r"\bappelez[- ]moi\b",
    r"\bllam(?:ame|enme|eme)\b",
]

# Threatening a complaint: closes the lead like a removal request.
COMPLAINT = [
    r"\b(?:report|reporting) (?:you|this|your company)\b.{0,30}\b(?:spam|ftc|fcc|ico|regulator|authorit|abuse|attorney general|data protection)",
    r"\b(?:i will|i'll|i am going to|i'm going to|we will|we'll|i shall) (?:file|lodge|make|submit|raise) an? (?:formal )?complaint\b",
    r"\bcomplaint (?:with|to) the (?:ftc|fcc|ico|regulator|data protection|attorney general|bbb)\b",
    r"\bthis is (?:spam|harassment)\b",
    r"\b(?:violat\w*|breach\w*|against|verstoss gegen|violation (?:du|de la)) (?:of )?(?:the |die |das )?(?:can-?spam|gdpr|dsgvo|rgpd|ccpa|tcpa|casl|pecr|uwg)\b",
    r"\b(?:gdpr|ccpa|tcpa|dsgvo|rgpd) (?:complaint|violation|beschwerde|plainte)\b",
    r"\b(?:contact|inform|notify|hear from|forward (?:this|it) to|involve|call|get) (?:my|our) (?:lawyers?|attorneys?|solicitors?)\b",
    r"\bmy (?:lawyer|attorney|solicitor) will\b",
    r"\b(?:take|taking|pursue|consider|considering) legal action\b",
    r"\bbeschwerde\b.{0,40}\b(?:datenschutz\w*|behorde|behoerde|aufsichtsbehorde|aufsichtsbehoerde|lfd|bfdi)\b",
    r"\babmahnung\b",
    r"\b(?:mein|unser) anwalt\b|\brechtliche schritte\b",
    r"\bporter plainte\b|\bplainte (?:aupres de|a) la cnil\b|\b(?:saisir|saisirai|signaler a) la cnil\b",
    r"\bmon avocat\b|\bpoursuites? judiciaires?\b",
    r"\b(?:denuncia|denunciare|denunciar|reclamacion|queja)\b.{0,40}\b(?:aepd|proteccion de datos)\b",
    r"\bmi abogado\b|\bacciones legales\b",
]

# After an unsubscribe, a hand-raise whose words are only these (and no more than a few words) repeats it.
REPEATED_REQUEST = [
    r"\b(?:stop|unsubscribe|unsubscribed|remove|removal|opt[- ]?out|spam|enough|again)\b",
    r"\b(?:abmelden|abgemeldet|austragen|ausgetragen|stopp|entfernen)\b",
    r"\b(?:desinscription|desinscrire|desinscrit|desabonner|desabonnement|arret|arretez)\b",
    r"\b(?:baja|parar|basta|borrar|eliminar)\b",
]
# What a real hand-raise says: any of these, and a short repeat is read as a hand-raise after all.
BUYING_WORDS = [
    r"\b(?:demo|pricing|price|quote|trial|seats?|licen[cs]es?|evaluat\w*|integrat\w*|rollout|budget|contract|"
    r"proposal|team of|users|onboard\w*|upgrade|buy|purchase|interested in)\b",
    r"\b(?:preis\w*|angebot|testen|lizenz\w*|kaufen|vorfuhrung|vorfuehrung|termin)\b",
    r"\b(?:tarif\w*|devis|essai|licences?|acheter|rendez-vous)\b",
    r"\b(?:precio\w*|presupuesto|prueba|licencias?|comprar|cotizacion|reunion)\b",
]

# --- Not a buyer: students and job-seekers -------------------------------------------------------------------
JOB_WORDING = [
    # English
    r"\b(?:apply|applying|application) (?:for|to) (?:a |an |the |your )?(?:\w+ ){0,2}(?:job|position|role|opening|vacanc\w+|internship|placement)\b",
    r"\b(?:are|is) (?:you|your company|ourco) (?:currently )?hiring\b",
    r"\b(?:any|your) (?:open |current )?(?:positions|vacancies|job openings|openings)\b|\bopen positions (?:at|in|with) your\b",
    r"\b(?:an? |summer |the )internships?\b|\binternship (?:opportunit\w+|position|program\w*)\b",
    r"\b(?:my|attached (?:is )?(?:my)?) (?:cv|resume|curriculum vitae)\b|\bmy résumé\b",
    r"\b(?:looking for|seeking|searching for) (?:a |an )?(?:new )?(?:job|position|internship|work placement|employment)\b",
    r"\b(?:for|about) my (?:thesis|dissertation|master'?s thesis|bachelor'?s thesis|capstone|coursework|class|course|school project|university project|research project)\b",
    r"\b(?:i am|i'm) (?:a |an )?(?:student|undergraduate|graduate student|phd student|mba student)\b"
    r"(?! (?:success|services?|affairs|experience|recruit\w*|life|support|engagement|data|information|housing))",
    r"\bstudent (?:project|assignment|research)\b",
    # German
    r"\b(?:initiativ)?bewerbung\b|\b(?:mich|uns) (?:bei ihnen )?(?:bewerben|bewerbe)\b|\bbewerbe mich\b",
    r"\bpraktik(?:um|umsplatz|umsstelle)\b",
    r"\bwerkstudent(?:en)?(?:stelle|tatigkeit|taetigkeit)?\b",
    r"\b(?:offene|freie) stellen?\b|\bstellenangebot\w*\b|\bausbildungsplatz\b",
    r"\blebenslauf\b",
    r"\b(?:abschluss|bachelor|master|diplom)arbeit\b",
    r"\bich bin (?:student(?:in)?|studierende[r]?)\b",
    # French
    r"\b(?:ma|une) candidature\b|\bcandidature spontanee\b",
    r"\b(?:un|de|mon|votre|offre de|en) stage\b|\bstage de fin d'etudes\b|\bstagiaire\b",
    r"\balternance\b",
    r"\boffres? d'emploi\b|\bposte a pourvoir\b|\brecrutez[- ]vous\b",
    r"\bmon cv\b|\bpostuler\b",
    r"\bmon memoire\b|\bmon projet (?:de fin d'etudes|etudiant|universitaire)\b",
    r"\bje suis (?:etudiant|etudiante)\b",
    # Spanish
    r"\b(?:mi|una) candidatura\b|\bpostular(?:me)?\b",
    r"\b(?<!buenas )(?<!mejores )practicas (?:profesionales|de verano|en (?:su|vuestra|tu) empresa)\b",
    r"\b(?:hacer|realizar|busco|solicitar|solicito) (?:las |mis |unas )?practicas\b",
    r"\b(?:ofertas? de (?:empleo|trabajo)|vacantes?)\b",
    r"\bmi (?:cv|curriculum)\b",
    r"\btrabajo (?:de )?fin de (?:grado|master)\b|\b(?:mi )?(?:tfg|tfm)\b|\bmi tesis\b",
    r"\bbusco (?:empleo|trabajo)\b",
    r"\bsoy (?:estudiante|alumno|alumna)\b",
]
# Titles of students, interns and job-seekers, unless the title is also a staff role (STAFF_TITLE).
STUDENT_TITLE = [
    r"\b(?:student|studentin|studierende[r]?|werkstudent(?:in)?|praktikant(?:in)?|azubi|auszubildende[r]?|"
    r"etudiant|etudiante|stagiaire|alternant|alternante|estudiante|alumno|alumna|becari[oa]|intern|"
    r"undergrad(?:uate)?|phd candidate|doctoral (?:candidate|student)|mba candidate|job ?seeker|"
    r"looking for (?:work|opportunities|a job)|open to work|seeking (?:new )?opportunities|unemployed|"
    r"arbeitssuchend|en recherche d'emploi|demandeur d'emploi|buscando empleo|desempleado)\b",
]
STAFF_TITLE = [
    r"\b(?:director|head|manager|dean|coordinator|officer|vp|vice|chief|cio|cto|ceo|founder|owner|"
    r"procurement|purchasing|buyer|admin\w*|professor|lecturer|leiter\w*|leitung|responsable|jefe|jefa|"
    r"directeur|directrice|gerente|einkauf|success|services|affairs|recruit\w*|relations|experience)\b",
]
CAREERS_PATHS = [
    "careers", "career", "jobs", "job", "join-us", "joinus", "work-with-us", "we-are-hiring",
    "internships", "internship", "karriere", "stellenangebote", "jobs-karriere", "stellen", "carrieres", "carriere",
    "recrutement", "emplois", "rejoignez-nous", "empleo", "empleos", "trabaja-con-nosotros", "unete",
]
# Hosted job boards a careers page links to: a visit there is a careers visit.
CAREERS_HOSTS = ["greenhouse.io", "lever.co", "ashbyhq.com", "recruitee.com", "personio.de", "personio.com",
                 "workable.com", "smartrecruiters.com", "join.com", "teamtailor.com", "bamboohr.com"]
# Academic and student email domains, beyond .edu / .ac.xx (briefs.triage reads those by their labels).
ACADEMIC_DOMAIN = [
    r"(?:^|\.)(?:uni|tu|th|fh|hs|ph)-[a-z0-9-]+\.(?:de|at|ch)$",
    r"(?:^|\.)univ-[a-z0-9-]+\.fr$",
    r"(?:^|\.)(?:student|students|stud|etu|etud|etudiant|etudiants|alumnos|alumno|estudiantes|estudiante)\.[a-z0-9-]+\.[a-z]",
    r"(?:^|\.)(?:universit|universidad|universidade|universita|hochschule)[a-z0-9-]*\.[a-z.]+$",
]
# Well-known schools whose domains none of the shapes above catch.
ACADEMIC_DOMAINS = [
    "tum.de", "rwth-aachen.de", "kit.edu", "lmu.de", "fu-berlin.de", "hu-berlin.de", "tu-berlin.de", "ethz.ch",
    "epfl.ch", "unibe.ch", "uzh.ch", "upm.es", "ucm.es", "uam.es", "ugr.es", "us.es", "uv.es", "upv.es",
    "sorbonne-universite.fr", "sciencespo.fr", "polytechnique.edu", "ens.fr", "hec.fr", "essec.fr", "escp.eu",
    "insead.edu", "unimi.it", "polimi.it", "uva.nl", "tudelft.nl", "kuleuven.be",
]

# --- Not a buyer: vendors and agencies pitching us -----------------------------------------------------------
# Any one of these is a pitch.
VENDOR_PITCH = [
    r"\b(?:i|we) (?:noticed|saw|came across|checked|analy[sz]ed|audited) your (?:website|site|web ?site|linkedin|company page)\b",
    r"\b(?:first|1st|top) page (?:of|on) google\b|\brank (?:higher|better|#?1|on the first page)\b",
    r"\b(?:high[- ]quality |do-?follow )?backlinks?\b|\bguest posts?\b|\blink[- ]building\b",
    r"\bour (?:services|agency|team) (?:can|could|will) (?:help|boost|grow|increase|deliver|generate|book)\b",
    r"\bwe (?:can|could|will) (?:help you|get you|bring you|provide you|send you|book you|generate (?:you|for you)|deliver (?:you|to you))\b.{0,40}\b(?:leads|meetings|appointments|traffic|rankings?|developers|clients|customers|sales)\b",
    r"\b(?:qualified|guaranteed|b2b) (?:leads|appointments|meetings) (?:for|to) your\b",
    r"\b(?:offshore|nearshore) (?:development|developers|team|engineers)\b|\bdedicated (?:developers|engineers) (?:for|to) your\b",
    r"\bwhite[- ]label (?:seo|services|development|partnership)\b",
    r"\b(?:partnership|collaboration) (?:opportunit\w+|proposal|proposition)\b|\bbusiness proposal\b",
    r"\b(?:explore|discuss|propose) (?:a |an )?(?:potential |possible |mutually beneficial )?(?:partnership|collaboration)\b",
    r"\bmutually beneficial\b",
    r"\b(?:schedule|book|hop on|have) a (?:quick |short |15[- ]min\w* )?call to (?:discuss|show|explain) (?:how )?(?:we|our)\b",
    # German
    r"\bsuchmaschinenoptimierung\b|\bseite 1 (?:bei|von|auf) google\b|\bgoogle seite 1\b",
    r"\bkooperationsanfrage\b|\b(?:kooperation|partnerschaft|zusammenarbeit) (?:anbieten|vorschlagen|vorstellen)\b",
    r"\bunsere (?:dienstleistungen|leistungen) (?:vorstellen|anbieten)\b",
    r"\b(?:leadgenerierung|terminierung|terminvereinbarung) fur ihr\w*\b|\bleadgenerierung fuer ihr\w*\b",
    r"\bwir (?:haben|hatten) ihre (?:website|webseite|homepage) (?:analysiert|gepruft|geprueft|angesehen)\b",
    # French
    r"\breferencement (?:naturel|seo|google)\b|\bpremiere page (?:de|sur) google\b",
    r"\b(?:proposition|proposer un|opportunite) de (?:partenariat|collaboration)\b",
    r"\b(?:vous )?presenter nos services\b|\bnos services (?:de|en) (?:seo|developpement|generation|prospection|externalisation)\b",
    r"\bgeneration de leads pour (?:vous|votre)\b|\bexternalisation\b",
    # Spanish
    r"\bposicionamiento (?:seo|web|en google)\b|\bprimera pagina de google\b",
    r"\bpropuesta de (?:colaboracion|partnership|asociacion|alianza)\b",
    r"\b(?:presentarle|ofrecerle|ofrecerles) (?:nuestros|nuestro) servicios?\b",
    r"\bgeneracion de leads para (?:su|tu|vuestra)\b|\bdesarrollo (?:offshore|nearshore)\b",
]
# "We are an SEO agency" alone describes a buyer as well as a seller: a pitch only with one more cue (below).
VENDOR_SELF = [
    r"\b(?:we are|we're|i run|i work (?:at|for)|i represent) (?:a |an )?(?:leading |award[- ]winning |full[- ]service |boutique )?"
    r"(?:seo|sem|ppc|digital(?: marketing)?|marketing|growth|lead[- ]generation|web ?design|web development|"
    r"software development|app development|outsourcing|staffing|recruitment|it services|branding) (?:agency|company|firm|studio|consultancy|partner)\b",
    r"\bwir sind (?:eine |ein )?(?:seo|sea|online-?marketing|marketing|digital|webdesign|software|it)[- ]?(?:agentur|dienstleister|unternehmen|firma)\b",
    r"\bnous sommes une (?:agence|societe|entreprise) (?:de |d')?(?:seo|marketing|web|developpement|digitale?|communication|prospection)\b",
    r"\bsomos una (?:agencia|empresa|consultora) (?:de )?(?:seo|marketing|desarrollo|digital|software|outsourcing)\b",
]
VENDOR_CUE = [
    r"\b(?:our|nuestros|nos|unsere) (?:services|clients|servicios|clientes|kunden|prestations)\b",
    r"\bwe help\b|\bwe (?:can|could) help\b|\bhelp (?:you|your (?:company|business|team))\b",
    r"\b(?:increase|boost|grow|double|triple) your\b",
    r"\bwir helfen\b|\bnous aidons\b|\bayudamos\b",
    r"\b(?:free|gratuit\w*|kostenlos\w*|gratis) (?:audit|analysis|analyse|analisis|consultation|trial of our)\b",
    r"\bcase studies? (?:from|of) our clients\b",
]

# --- Flags -----------------------------------------------------------------------------------------------------
# Local parts of role and shared inboxes ("info@", "sales+web@").
ROLE_INBOXES = [
    "info", "information", "sales", "contact", "contacts", "hello", "hi", "admin", "administrator", "office",
    "support", "help", "helpdesk", "service", "services", "marketing", "team", "enquiries", "enquiry", "inquiries",
    "inquiry", "accounts", "accounting", "billing", "finance", "invoice", "invoices", "hr", "jobs", "careers",
    "press", "media", "pr", "webmaster", "postmaster", "noreply", "no-reply", "donotreply", "mail", "email",
    "general", "reception", "frontdesk", "orders", "purchasing", "procurement", "legal", "privacy", "security",
    "it", "ops", "operations", "team", "kontakt", "vertrieb", "buero", "buro", "zentrale", "anfrage", "bestellung",
    "rechnung", "verwaltung", "accueil", "bonjour", "commercial", "direction", "facturation", "compta",
    "contacto", "ventas", "hola", "informacion", "administracion", "oficina", "comercial", "facturacion",
]
