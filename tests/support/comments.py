"""Realistic hand-raiser comments, as forms deliver them: forwarded chains, signatures, disclaimers, entities,
four languages. Written for these tests; names, companies and numbers are made up."""

# A demo request whose comment is a forwarded Outlook chain: entities as the form encoded them, a signature
# with a street address and two phones, a two-line confidentiality notice, then the quoted email.
FORWARDED_EN = """Hi there,

I&#39;m forwarding the thread below &amp; would like a demo. Our COO Maria Lopez referred me after the LogiMAT show.

We currently use Manhattan SCALE across 14 warehouses &amp; 38,000 SKUs; the contract ends 30 June 2027 and we will not renew.
Budget is around EUR 120k per year. The final decision sits with our CFO and the VP Supply Chain.
Must have: SAP S/4HANA integration and EDI with our 3PLs.
Can you send us a quote for 14 sites before our board meeting on 15 March?
I am free Monday 9-11 CET for a call.

Best regards,
Jonas Weber
Head of Logistics | Brightforge GmbH
Industriestraße 12, 70565 Stuttgart
Tel: +49 711 123456 | Mobile: +49 170 9876543
www.brightforge.example

CONFIDENTIALITY NOTICE: This e-mail and any attachments are confidential and intended solely for the addressee.
If you have received this e-mail in error, please notify the sender and delete it immediately.

-----Original Message-----
From: Klaus Richter <k.richter@brightforge.example>
Sent: Monday, November 30, 2026 4:12 PM
To: Jonas Weber <j.weber@brightforge.example>
Subject: RE: RE: WMS replacement

Jonas, can you reach out to the vendors? Need: proposals by end of January. Budget: TBD with finance.

Thanks
Klaus
"""

# A German reply chain pasted into "Demo anfordern": Outlook's German headers under the signature.
REPLY_DE = """Guten Tag,

wir sind ein Maschinenbauer mit 6 Werken und suchen eine Lösung für die Lagerverwaltung. Derzeit nutzen wir SAP EWM, der Vertrag läuft Ende 2027 aus.
Budget: ca. 80.000 € pro Jahr. Die Entscheidung trifft die Geschäftsführung zusammen mit dem IT-Leiter.
Bitte rufen Sie mich am Dienstag zwischen 9 und 11 Uhr an.

Mit freundlichen Grüßen
Anna Schmidt
Leiterin Logistik
Müller Maschinenbau GmbH
Hauptstraße 5, 80331 München
Tel. +49 89 1234567

Diese E-Mail enthält vertrauliche Informationen. Wenn Sie nicht der richtige Adressat sind oder diese E-Mail irrtümlich erhalten haben, informieren Sie bitte sofort den Absender und löschen Sie diese E-Mail.

Von: Peter Braun <p.braun@mueller.example>
Gesendet: Montag, 30. November 2026 10:15
An: Anna Schmidt
Betreff: AW: Lagerverwaltung

Anna, bitte kümmere dich darum.
"""

# French, "Contacter le service commercial": a callback in the morning, in French.
FRENCH = """Bonjour,

Nous cherchons à remplacer notre outil actuel (Generix) dont le contrat se termine en septembre. Nous avons 3 entrepôts et 250 utilisateurs.
Il nous faut impérativement une intégration avec Sage X3. Notre budget est d&#39;environ 50 k€.
Merci de me rappeler en français le matin, de préférence mardi.

Cordialement,
Pierre Dubois
Directeur des opérations
12 rue de la Paix, 75002 Paris
Tél : +33 1 23 45 67 89

Ce message et ses pièces jointes sont confidentiels et destinés exclusivement au destinataire. Si vous avez reçu ce message par erreur, merci de le supprimer.
"""

# Spanish, "Solicitar una demo": a referral, a deadline, one concrete ask.
SPANISH = """Hola,

Nos recomendó su empresa un cliente vuestro, Logística Norte. Necesitamos una solución para 4 almacenes y unos 12.000 SKUs antes de final de marzo.
Actualmente usamos Excel y un sistema propio. La decisión la toma el director general.
¿Podrían enviarnos una propuesta económica?

Saludos cordiales,
Lucía García
Jefa de Operaciones | Distribuciones Sur S.L.
Calle Mayor 10, 28013 Madrid
Móvil: +34 600 123 456

Este mensaje es confidencial y está dirigido exclusivamente a su destinatario. Si usted ha recibido este mensaje por error, le rogamos que lo elimine.
"""

# Mojibake and HTML from a form that double-encoded its text.
MOJIBAKE = "We need a WMS for our plant in MÃ¼nchen &amp;amp; KÃ¶ln.<br>Call me after 3pm EST.<br><br>Thanks<br>Bob"

# A second English one: short, no chain, a phone in the text that is not a signature.
SHORT_EN = "Looking for pricing for 25 users. Please call me back on +1 415 555 0134 tomorrow afternoon, PT."

# A second German one: "Vertrieb kontaktieren", informal, no signature.
SHORT_DE = ("Hallo, wir möchten unser altes Lagerprogramm ablösen und brauchen bis Ende Juni eine Lösung für "
            "zwei Standorte. Können Sie uns ein Angebot schicken?")

# A second French one: a forwarded message with nothing written above it.
FORWARD_ONLY_FR = """---------- Message transféré ---------
De : Sophie Martin <s.martin@exemple.fr>
Date : lun. 30 nov. 2026 à 09:12
Objet : TR: Projet entrepôt
À : <contact@exemple.fr>

Bonjour, nous aimerions une démonstration de votre solution pour nos 2 entrepôts de Lyon. Le budget est validé par la direction.

Bien cordialement,
Sophie Martin
"""

# A second Spanish one: plain, with a Spanish reply header below.
REPLY_ES = """Buenos días, queremos sustituir nuestro sistema actual antes del verano. Tenemos 120 usuarios.
Es imprescindible la integración con Sage 200.

El lun, 30 nov 2026 a las 10:15, Carlos Ruiz <c.ruiz@ejemplo.es> escribió:
> ¿Has pedido ya la demo a los proveedores?
"""
