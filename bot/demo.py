"""Sample marketing histories for `leadbrief demo`, timed relative to now so the briefs read as live."""

from __future__ import annotations

from datetime import datetime, timedelta


def demo_events(now: datetime) -> list[dict]:
    events: list[dict] = []

    def at(**delta) -> str:
        return (now - timedelta(**delta)).isoformat().replace("+00:00", "Z")

    def add(event_type: str, ago: dict, **body) -> None:
        events.append({"id": f"demo-{len(events) + 1}", "occurred_at": at(**ago), "type": event_type, **body})

    # 1. An engaged researcher: seven touches over nine days, then the score crosses 100.
    jon = "jon.doe@acme.example"
    add("lead.upsert", {"days": 10}, lead={
        "email": jon, "first_name": "Jon", "last_name": "Doe", "title": "Director of Operations",
        "company": "Acme Widgets", "owner_email": "jane@ourco.example", "lifecycle_stage": "lead", "score": 40,
        "persona": "operations", "crm_url": "https://crm.example/leads/1001",
    })
    campaign = "Widget ROI nurture"
    add("activity", {"days": 9}, email=jon, kind="web_visit", url="https://ourco.example/solutions/widgets")
    add("activity", {"days": 8}, email=jon, kind="content_download", campaign=campaign, asset={
        "title": "10 Tips for Improving your Widget ROI", "type": "white paper", "topic": "widget ROI",
        "url": "https://ourco.example/content/widget-roi-tips"})
    add("activity", {"days": 6, "hours": 3}, email=jon, kind="email_delivered", campaign=campaign,
        subject="Your widget ROI checklist")
    add("activity", {"days": 6}, email=jon, kind="email_open", campaign=campaign, subject="Your widget ROI checklist")
    add("activity", {"days": 6}, email=jon, kind="email_click", campaign=campaign, subject="Your widget ROI checklist",
        url="https://ourco.example/content/roi-checklist")
    add("activity", {"days": 4}, email=jon, kind="web_visit", url="https://ourco.example/blog/widget-lifecycle-101")
    add("activity", {"days": 2}, email=jon, kind="web_visit", url="https://ourco.example/pricing")
    add("activity", {"days": 1}, email=jon, kind="content_download", campaign=campaign, asset={
        "title": "The Lifecycle of a Widget", "type": "infographic", "topic": "the widget lifecycle",
        "url": "https://ourco.example/content/widget-lifecycle"})
    add("lead.note", {"days": 1}, email=jon, author="Mia", author_role="marketing",
        text="Met him at the Widget Expo booth; budget approved in March.")
    add("lead.upsert", {"minutes": 2}, lead={"email": jon, "score": 110})

    # 2. A hand-raiser: their own words give the referral, the need and the timeline.
    sam = "sam.rivera@globex.example"
    add("lead.upsert", {"days": 3}, lead={
        "email": sam, "first_name": "Sam", "last_name": "Rivera", "title": "VP Manufacturing",
        "company": "Globex", "owner_email": "omar@ourco.example", "score": 35})
    add("activity", {"days": 3}, email=sam, kind="web_visit", url="https://ourco.example/customers/initech")
    add("activity", {"days": 3}, email=sam, kind="content_download", asset={
        "title": "How Initech rolled out widgets in 30 plants", "type": "case study", "topic": "multi-plant rollouts"})
    add("activity", {"minutes": 4}, email=sam, kind="form_submit", form="Contact Sales",
        url="https://ourco.example/contact-sales",
        comments="Pat Lee at Initech referred me. We need a widget solution for 40 plants and must go live this quarter.")

    # 3. An unhappy customer asking about an upgrade: fix the relationship first.
    dana = "dana.kim@initrode.example"
    add("lead.upsert", {"days": 30}, lead={
        "email": dana, "first_name": "Dana", "last_name": "Kim", "title": "Head of IT", "company": "Initrode",
        "owner_email": "jane@ourco.example", "is_customer": True, "customer_since": "2022", "nps": 3,
        "crm_url": "https://crm.example/accounts/77"})
    add("activity", {"days": 1}, email=dana, kind="web_visit", url="https://ourco.example/pricing/enterprise")
    add("activity", {"minutes": 9}, email=dana, kind="form_submit", form="Request a Demo",
        comments="We are considering the Enterprise tier, but support response times have been poor.")

    # 4. A happy customer back in buying mode after seven quiet months.
    lee = "lee.chen@umbrella.example"
    add("lead.upsert", {"days": 400}, lead={
        "email": lee, "first_name": "Lee", "last_name": "Chen", "title": "COO", "company": "Umbrella Corp",
        "owner_email": "omar@ourco.example", "is_customer": True, "customer_since": "2023", "nps": 9})
    add("activity", {"days": 215}, email=lee, kind="email_open", subject="Umbrella quarterly review")
    add("activity", {"days": 5}, email=lee, kind="webinar_attended", campaign="Widgets 2027",
        asset={"title": "What's new in Widgets 2027", "type": "webinar", "topic": "widget analytics"})
    add("activity", {"days": 3}, email=lee, kind="content_download", asset={
        "title": "Widget Analytics Buyer's Guide", "type": "e-book", "topic": "widget analytics"})
    add("activity", {"days": 1}, email=lee, kind="web_visit", url="https://ourco.example/products/analytics")
    add("activity", {"minutes": 20}, email=lee, kind="web_visit", url="https://ourco.example/pricing")

    # 5. A German hand-raiser who pasted a forwarded email: the facts come out of it, the opener is German.
    klaus = "k.brandt@nordlicht-logistik.example"
    add("lead.upsert", {"days": 6}, lead={
        "email": klaus, "first_name": "Klaus", "last_name": "Brandt", "title": "Leiter Supply Chain",
        "company": "Nordlicht Logistik GmbH", "owner_email": "jane@ourco.example", "score": 20})
    add("activity", {"days": 2}, email=klaus, kind="web_visit", url="https://ourco.example/de/integrationen/sap",
        properties={"page_title": "Integrationen › SAP S/4HANA"})
    add("activity", {"minutes": 6}, email=klaus, kind="form_submit", form="Demo anfordern",
        url="https://ourco.example/de/demo", properties={"salutation": "Herr"}, comments=(
            "Guten Tag,\n\nwir ersetzen AcmeForecast, der Vertrag l&auml;uft am 31.03.2027 aus. Budget ist "
            "freigegeben, ca. 60.000 &euro; im Jahr. Die Entscheidung trifft unser COO, die IT gibt die Security "
            "frei. Wir brauchen SSO und den SAP-Connector f&uuml;r 9 Lager. Bitte rufen Sie mich am Montag "
            "zwischen 9 und 11 Uhr an.\n\nMit freundlichen Gr&uuml;&szlig;en\nKlaus Brandt\nLeiter Supply Chain\n"
            "Nordlicht Logistik GmbH | Hafenstra&szlig;e 12 | 20457 Hamburg\nTel. +49 40 1234 5678\n\n"
            "-----Urspr&uuml;ngliche Nachricht-----\nVon: Petra Vogel\nGesendet: Montag, 30. November 2026 08:12\n"
            "An: Klaus Brandt\nBetreff: AW: Prognose-Tool\n\nKlaus, bitte k&uuml;mmere dich darum. Keine "
            "Slideware, wir wollen unsere eigenen Daten sehen.\n\nDiese E-Mail enth&auml;lt vertrauliche "
            "Informationen. Wenn Sie nicht der richtige Adressat sind, informieren Sie bitte sofort den Absender."))

    # 6. A customer whose renewal is six weeks out reads a competitor comparison: the brief goes to her CSM.
    helen = "helen.brandt@northwind.example"
    add("lead.upsert", {"days": 90}, lead={
        "email": helen, "first_name": "Helen", "last_name": "Brandt", "title": "Head of Procurement",
        "company": "Northwind Traders", "owner_email": "omar@ourco.example", "is_customer": True,
        "customer_since": "2022", "nps": 6, "score": 60, "csm_email": "carla@ourco.example",
        "renewal_date": (now + timedelta(days=42)).date().isoformat(), "arr": 48000, "currency": "EUR",
        "plan": "Enterprise"})
    add("activity", {"days": 3}, email=helen, kind="web_visit", url="https://ourco.example/help/cancel-subscription",
        properties={"page_title": "How to cancel or downgrade your plan"})
    add("activity", {"days": 1}, email=helen, kind="web_visit",
        url="https://ourco.example/compare/ourco-vs-acmeforecast",
        properties={"page_title": "OurCo vs AcmeForecast"})
    add("lead.upsert", {"minutes": 3}, lead={"email": helen, "score": 105})
    return events


DEMO_EMAILS = (
    "jon.doe@acme.example",
    "sam.rivera@globex.example",
    "dana.kim@initrode.example",
    "lee.chen@umbrella.example",
    "k.brandt@nordlicht-logistik.example",
    "helen.brandt@northwind.example",
)
