"""The invented Quillfeather Labs handbook: documents and the facts questions are asked about.

Every entry: file name, title, body (markdown paragraphs), and facts as
(answer, question, another wording of the question). Each answer appears verbatim in its document.
Used by make_data.py, which writes docs/*.md and the question files.
"""

DOCS = [
    dict(
        file="company-overview.md",
        title="Quillfeather Labs at a glance",
        body="""Quillfeather Labs designs paper-like writing tablets and the Inkwell note-taking app. The company was founded in 2014 by Odile Marchetti and Bram Okonjo, who met while restoring old printing presses at a makerspace in Bristol.

Odile Marchetti is the chief executive officer. Bram Okonjo stepped back from day-to-day work in 2022 and now chairs the product council.

Our headquarters is Saltmarsh House in Bristol. We also run an engineering office in Lisbon and a small warehouse in Tilburg, in the Netherlands, which ships every order for mainland Europe.

Quillfeather employs around 240 people. Our company motto, printed above the reception desk, is "Write it down, think it through".""",
        facts=[
            ("2014", "In what year was Quillfeather Labs founded?", "When was Quillfeather started?"),
            ("Odile Marchetti", "Who is the CEO of Quillfeather?", "Who runs Quillfeather Labs as chief executive?"),
            ("the product council", "What does Bram Okonjo chair now?", "Which group is Bram Okonjo the chair of?"),
            ("Tilburg", "Where is the Quillfeather warehouse for mainland Europe?", "Which town ships Quillfeather's European orders?"),
            ("around 240", "How many people work at Quillfeather?", "What is Quillfeather's headcount?"),
            ("Write it down, think it through", "What is the Quillfeather company motto?", "What motto is printed above reception?"),
        ],
    ),
    dict(
        file="office-bristol.md",
        title="Bristol headquarters: Saltmarsh House",
        body="""Saltmarsh House is at 14 Copperleaf Lane, Bristol, a five-minute walk from Temple Meads station.

The building opens at 07:30 and closes at 20:00 on weekdays. It is closed at weekends unless you book weekend access with facilities at least two working days ahead.

Reception is on the ground floor. Engineering sits on the second and third floors, and the design studio has the whole fourth floor. The fifth floor has the canteen and a rooftop garden with beehives that produce about 30 jars of honey a year.

There are 60 bike spaces in the basement, next to the showers. Car parking is limited to six spaces, kept for colleagues with accessibility needs.""",
        facts=[
            ("14 Copperleaf Lane", "What is the street address of Saltmarsh House?", "Where exactly is the Bristol office?"),
            ("07:30", "What time does the Bristol office open on weekdays?", "When does Saltmarsh House open in the morning?"),
            ("fourth floor", "Which floor is the design studio on?", "Where in Saltmarsh House does the design team sit?"),
            ("beehives", "What is kept in the rooftop garden at Saltmarsh House?", "What produces honey on the Bristol roof?"),
            ("six spaces", "How many car parking spaces does the Bristol office have?", "How many parking spots are there at Saltmarsh House?"),
            ("two working days", "How far ahead must weekend access to Saltmarsh House be booked?", "How much notice do facilities need for weekend access in Bristol?"),
        ],
    ),
    dict(
        file="office-lisbon.md",
        title="Lisbon engineering office",
        body="""The Lisbon office opened in September 2021 in the Alcântara district, in a converted cork warehouse by the river. It is home to 38 people, mostly firmware and sync engineers.

The site lead is Tiago Ferreira. Ask him about desk allocation, local holidays and visitors.

Lisbon follows Portuguese public holidays instead of UK bank holidays, and the office closes at 18:30 every day.

Every Friday the whole office has lunch together; the company pays up to 15 euros per person. Colleagues visiting from Bristol can use the two hot desks by the window, booked through the Lisbon channel in chat.""",
        facts=[
            ("September 2021", "When did the Lisbon office open?", "In which month and year was the Lisbon site opened?"),
            ("Alcântara", "In which Lisbon district is the Quillfeather office?", "Which neighbourhood of Lisbon is the office in?"),
            ("a converted cork warehouse", "What kind of building houses the Lisbon office?", "What was the Lisbon office building before?"),
            ("Tiago Ferreira", "Who is the Lisbon site lead?", "Who should I ask about desks in Lisbon?"),
            ("18:30", "What time does the Lisbon office close?", "When does the Lisbon office shut each day?"),
            ("15 euros", "How much does Quillfeather pay per person for the Friday lunch in Lisbon?", "What is the per-person budget for Lisbon's Friday lunch?"),
        ],
    ),
    dict(
        file="office-access.md",
        title="Badges, visitors and guest wifi",
        body="""Every employee gets a photo badge on their first day. Badges open the doors of both offices. If you lose your badge, report it to facilities the same day; a replacement costs a 15 pound fee, which is waived the first time.

Visitors must be signed in at reception by their host and wear a green visitor lanyard at all times. Contractors wear orange lanyards.

Guests can use the wifi network QF-Guest. The password changes on the first Monday of every month and is shown on the screen behind reception.

Tailgating, letting someone follow you through a door without badging, is the most common security finding in our audits. Please don't hold doors for people you don't know.""",
        facts=[
            ("15 pound", "How much does a replacement badge cost?", "What is the fee for losing my badge?"),
            ("green", "What colour lanyard do visitors wear?", "Visitors wear a lanyard of which colour?"),
            ("orange", "What colour lanyards do contractors wear?", "Which lanyard colour is for contractors?"),
            ("QF-Guest", "What is the guest wifi network called?", "Which wifi network should visitors join?"),
            ("first Monday of every month", "When does the guest wifi password change?", "How often is the QF-Guest password rotated?"),
            ("Tailgating", "What is the most common security finding in Quillfeather audits?", "Which door habit shows up most in security audits?"),
        ],
    ),
    dict(
        file="annual-leave.md",
        title="Annual leave",
        body="""Full-time employees get 27 days of annual leave a year plus public holidays. Part-time colleagues get the same amount pro rata.

The leave year runs from 1 January to 31 December. You can carry over up to 5 days of unused leave into the next year; they must be used by the end of March.

Book leave in Roost, our HR system. For a block of more than five days, give at least three weeks' notice so your team can plan cover.

Everyone also gets their birthday off. If your birthday falls on a weekend, take the Friday before or the Monday after.

After five years at Quillfeather you get two extra days of leave, and after ten years a four-week paid sabbatical.""",
        facts=[
            ("27 days", "How many days of annual leave do full-time employees get?", "What is the annual holiday allowance at Quillfeather?"),
            ("5 days", "How many unused leave days can be carried over?", "What is the maximum carry-over of holiday days?"),
            ("Roost", "Which system is used to book annual leave?", "What is the name of the HR system?"),
            ("three weeks", "How much notice is needed for more than five days of leave?", "How far ahead should a long holiday be requested?"),
            ("their birthday", "What extra day off does everyone get?", "Which personal day is given off to every employee?"),
            ("a four-week paid sabbatical", "What do employees get after ten years at Quillfeather?", "What is the ten-year service reward?"),
        ],
    ),
    dict(
        file="sick-leave.md",
        title="Sickness absence",
        body="""If you are ill, tell your manager before 10:30 on the first day, by phone or direct message. An email alone is not enough.

You can self-certify for up to seven calendar days. From day eight you need a fit note from a doctor, uploaded to Roost.

Quillfeather pays full salary for up to 20 working days of sickness in any rolling twelve months, then statutory sick pay.

When you come back after more than two weeks away, your manager will book a return-to-work chat and may suggest a phased return.

Our employee assistance line, run by Calmwater, is free and confidential, 24 hours a day, for you and your household.""",
        facts=[
            ("10:30", "By what time must I tell my manager I'm sick?", "What is the deadline for reporting a sick day?"),
            ("seven calendar days", "For how long can I self-certify sickness?", "How many days of illness can be self-certified?"),
            ("a fit note", "What do I need from day eight of sickness?", "What document is required after a week off sick?"),
            ("20 working days", "How many sick days are paid at full salary?", "How long does full sick pay last?"),
            ("Calmwater", "Who runs the employee assistance line?", "Which provider operates the confidential support line?"),
        ],
    ),
    dict(
        file="parental-leave.md",
        title="Parental leave",
        body="""The primary carer of a new child, by birth, adoption or surrogacy, gets 26 weeks of leave on full pay, followed by up to 13 weeks of statutory pay.

The second parent gets 8 weeks on full pay, which can be taken in up to three blocks within the first year.

You can work up to 10 days during your leave, called keeping-in-touch days, without the leave ending; they are paid at your normal rate.

On your return you may work a four-day week at 90 percent pay for your first two months back.

Tell the people team at least 15 weeks before the expected due date. The parental leave contact is Sunniva Aasen.""",
        facts=[
            ("26 weeks", "How many weeks of full pay does a primary carer get?", "How long is fully paid primary carer leave?"),
            ("8 weeks", "How much full-pay leave does the second parent get?", "How long is second parent leave on full pay?"),
            ("10 days", "How many keeping-in-touch days can you work during parental leave?", "What is the limit on keeping-in-touch days?"),
            ("90 percent", "What pay do returning parents get for a four-day week?", "At what rate are parents paid on the four-day return scheme?"),
            ("15 weeks", "How long before the due date must I tell the people team?", "How much notice is required before parental leave?"),
            ("Sunniva Aasen", "Who is the parental leave contact?", "Who do I speak to about parental leave?"),
        ],
    ),
    dict(
        file="expenses.md",
        title="Expenses",
        body="""Submit expense claims in Ledgerly within 60 days of spending the money. Claims older than that are only paid with approval from the finance director, Gareth Lomax.

Attach a receipt for anything over 10 pounds. Photos of receipts are fine.

Meals while travelling are covered up to 35 pounds a day, alcohol excluded. Any single claim above 250 pounds needs your manager's approval before you spend.

Claims approved by the 20th of the month are reimbursed with that month's salary; later ones roll over to the next payroll.

Personal cards are fine for small amounts, but book flights and hotels through the travel desk so they are paid centrally.""",
        facts=[
            ("Ledgerly", "Which tool is used for expense claims?", "Where do I submit my expenses?"),
            ("60 days", "How long do I have to submit an expense claim?", "What is the deadline for claiming expenses?"),
            ("Gareth Lomax", "Who is the finance director?", "Who approves late expense claims?"),
            ("10 pounds", "Above what amount is a receipt required?", "From what amount do expenses need a receipt?"),
            ("35 pounds a day", "What is the daily meal allowance while travelling?", "How much can I spend on food per day on a trip?"),
            ("the 20th of the month", "By when must a claim be approved to be paid with that month's salary?", "What is the monthly cut-off for expense approval?"),
        ],
    ),
    dict(
        file="travel-policy.md",
        title="Business travel",
        body="""All flights, trains and hotels are booked through the Wayfarer travel desk, reachable in the #travel channel or at extension 4120.

Flights under six hours are economy class. Longer flights may be premium economy. Business class is never booked.

Hotels are capped at 160 pounds a night in London and 120 pounds elsewhere in the UK. In Lisbon the cap is 140 euros.

Take the train rather than flying for any trip under five hours by rail. Standard class only.

Travel insurance is provided by the company; the policy number is on the intranet travel page. If something goes wrong abroad, call the 24-hour assistance line run by Northstar Assist.""",
        facts=[
            ("Wayfarer", "What is the travel desk called?", "Who books business travel?"),
            ("4120", "What is the travel desk's phone extension?", "Which extension reaches the travel desk?"),
            ("premium economy", "What class can be booked for flights over six hours?", "Which cabin is allowed on long-haul flights?"),
            ("160 pounds", "What is the hotel cap in London?", "How much can a London hotel cost per night?"),
            ("140 euros", "What is the hotel cap in Lisbon?", "How much can I spend on a hotel in Lisbon per night?"),
            ("Northstar Assist", "Who runs the 24-hour travel assistance line?", "Which company should I call if something goes wrong abroad?"),
        ],
    ),
    dict(
        file="remote-work.md",
        title="Working from home and abroad",
        body="""Most roles are hybrid: we ask people to be in the office on Tuesdays and Thursdays, the team days. Other days are your choice.

Core hours are 10:00 to 15:00 in your home time zone. Outside core hours, arrange your day as you like.

New starters receive a one-off home office allowance of 400 pounds for a chair, desk or screen.

You may work from another country for up to 45 days a year, after checking with the people team. Working from Portugal counts against the 45 days for UK contracts.

The allowance for home internet is 20 pounds a month, claimed through expenses.""",
        facts=[
            ("Tuesdays and Thursdays", "Which days are the office team days?", "On which weekdays should hybrid staff come in?"),
            ("10:00 to 15:00", "What are the core hours?", "Between which times are the core working hours?"),
            ("400 pounds", "How big is the home office allowance?", "What one-off sum do new starters get for home office gear?"),
            ("45 days", "For how many days a year can I work from another country?", "What is the annual limit for working abroad?"),
            ("20 pounds a month", "What is the home internet allowance?", "How much can I claim for internet at home?"),
        ],
    ),
    dict(
        file="equipment.md",
        title="Laptops and equipment",
        body="""Everyone chooses a laptop on their first day: a 14-inch ThinkPad running Linux or Windows, or a MacBook Air. Engineers may choose a MacBook Pro instead.

Laptops are refreshed every three years. If yours breaks earlier, the IT helpdesk swaps it, usually within two working days.

The IT helpdesk is on extension 4400 and in the #it-help channel. The helpdesk lead is Rowan Achterberg.

Each desk in the office has a 27-inch monitor. You may take one extra monitor home for good.

Please never install personal software that needs admin rights. Request it through the software catalogue, named Shelf, and IT will review it within a week.""",
        facts=[
            ("every three years", "How often are laptops refreshed?", "After how many years do I get a new laptop?"),
            ("4400", "What is the IT helpdesk extension?", "Which extension reaches IT support?"),
            ("Rowan Achterberg", "Who leads the IT helpdesk?", "Who is the helpdesk lead?"),
            ("27-inch", "What size are the office desk monitors?", "How big are the monitors on office desks?"),
            ("Shelf", "What is the software catalogue called?", "Where do I request new software?"),
            ("a MacBook Pro", "Which laptop may engineers choose instead?", "What extra laptop option do engineers have?"),
        ],
    ),
    dict(
        file="it-security.md",
        title="IT security basics",
        body="""Passwords must be at least 14 characters long. Use the company password manager, Vaultkeeper, for every work account.

All accounts use two-factor authentication with a hardware key. Everyone gets two keys on day one; keep the spare somewhere safe at home.

Laptops lock automatically after five minutes without input. Lock your screen whenever you walk away.

Forward suspicious emails to phish@quillfeather.example. Reporting a real phishing email earns you a sticker and the monthly Sharp Eye mention in the all-hands.

The head of security is Ines Varga. Security incidents, including a lost laptop, must be reported within one hour.""",
        facts=[
            ("14 characters", "What is the minimum password length?", "How long must a password be at least?"),
            ("Vaultkeeper", "What is the company password manager?", "Which password manager should I use?"),
            ("two keys", "How many hardware keys does everyone get?", "How many security keys are issued on day one?"),
            ("five minutes", "After how long do laptops lock automatically?", "How long until an idle laptop locks?"),
            ("phish@quillfeather.example", "Where should suspicious emails be forwarded?", "What address do I report phishing to?"),
            ("Ines Varga", "Who is the head of security?", "Who leads security at Quillfeather?"),
            ("one hour", "How quickly must a lost laptop be reported?", "What is the deadline for reporting a security incident?"),
        ],
    ),
    dict(
        file="onboarding.md",
        title="Your first weeks",
        body="""On your first day, come to reception at 09:30. Onboarding starts in the Kestrel room with coffee and a tour of the building.

Every new starter is paired with a buddy from another team for the first three months. Your buddy is your go-to person for the questions you feel awkward asking your manager.

Probation lasts six months. Your manager holds check-ins at the end of months one, three and five.

In your second week you spend a morning with customer support, answering real tickets. We call this the Inkwell shadow.

The onboarding programme is run by Hattie Polzin in the people team.""",
        facts=[
            ("09:30", "What time should new starters arrive on day one?", "When does the first day start?"),
            ("the Kestrel room", "Where does onboarding start?", "Which room is the first-day session in?"),
            ("three months", "How long do new starters have a buddy?", "For how long is the buddy pairing?"),
            ("six months", "How long is probation?", "What is the probation period at Quillfeather?"),
            ("the Inkwell shadow", "What is the morning with customer support called?", "What do we call the support shadowing session?"),
            ("Hattie Polzin", "Who runs onboarding?", "Who is in charge of the onboarding programme?"),
        ],
    ),
    dict(
        file="performance-reviews.md",
        title="Performance reviews",
        body="""Reviews happen twice a year, in March and September. Each review has a self-assessment, feedback from two peers you choose, and a conversation with your manager.

Ratings use a four-point scale: Developing, Solid, Strong and Exceptional. There is no forced distribution.

Managers meet in calibration sessions to compare ratings across teams before anything is shared with you.

Pay changes are linked only to the March review and take effect from 1 April.

If you disagree with your rating, you can ask for a second review by your manager's manager within 21 days.""",
        facts=[
            ("March and September", "When do performance reviews happen?", "In which months are the reviews held?"),
            ("two peers", "How many peers give feedback in a review?", "How many peer reviewers do I choose?"),
            ("four-point", "How many points does the rating scale have?", "What kind of scale are ratings on?"),
            ("Exceptional", "What is the highest performance rating?", "What is the top rating called?"),
            ("1 April", "When do pay changes take effect?", "From what date do salary changes apply?"),
            ("21 days", "How long do I have to ask for a second review?", "What is the deadline to contest a rating?"),
        ],
    ),
    dict(
        file="salary-and-pay.md",
        title="Salary and payroll",
        body="""Salaries are paid on the 25th of each month. If the 25th is a weekend or holiday, you are paid on the last working day before it.

Payslips are published in Roost two days before payday.

Pay bands are public inside the company and are reviewed every April against market data from the Halyard salary survey.

Overtime is not paid for salaried roles, but time off in lieu can be agreed with your manager.

Questions about your pay go to the payroll lead, Nadia Krol, or to payroll@quillfeather.example.""",
        facts=[
            ("the 25th", "On which day of the month are salaries paid?", "When is payday?"),
            ("two days before payday", "When are payslips published?", "How early do payslips appear in Roost?"),
            ("Halyard", "Which salary survey are pay bands compared against?", "What market data source is used for pay bands?"),
            ("time off in lieu", "What can salaried staff get instead of overtime pay?", "What replaces paid overtime?"),
            ("Nadia Krol", "Who is the payroll lead?", "Who should I ask about my pay?"),
        ],
    ),
    dict(
        file="benefits.md",
        title="Benefits",
        body="""Quillfeather matches pension contributions up to 6 percent of salary.

Private health insurance is provided by Meridian Health and covers your partner and children at no cost to you.

You can join the cycle-to-work scheme once every four years, for bikes up to 2,500 pounds.

Everyone gets a 30 percent discount at Pulse gyms, and the first Slate you buy as an employee is free; later devices are at cost price.

Life insurance pays four times your salary. Dental cover is optional and costs 9 pounds a month.""",
        facts=[
            ("6 percent", "Up to what percent does Quillfeather match pension contributions?", "What is the pension match?"),
            ("Meridian Health", "Who provides private health insurance?", "Which company is our health insurer?"),
            ("2,500 pounds", "What is the bike limit on the cycle-to-work scheme?", "How expensive can a cycle-to-work bike be?"),
            ("Pulse", "At which gyms do employees get a discount?", "Which gym chain gives us 30 percent off?"),
            ("four times your salary", "How much does life insurance pay?", "What is the life insurance cover?"),
            ("9 pounds a month", "How much does dental cover cost?", "What is the monthly price of the dental plan?"),
        ],
    ),
    dict(
        file="learning-budget.md",
        title="Learning and development",
        body="""Each employee has a learning budget of 1,200 pounds a year for courses, books, conferences and certificates.

You also get five learning days a year, separate from annual leave. Use them for courses or to study.

Books under 40 pounds don't need approval: buy them and claim through expenses. Everything else is approved by your manager in Roost.

The company book club, Marginalia, meets on the last Wednesday of the month and buys everyone's copy.

Unused budget does not roll over into the next year. The learning and development partner is Kofi Annor-Smith.""",
        facts=[
            ("1,200 pounds", "How big is the yearly learning budget?", "How much can I spend on learning each year?"),
            ("five learning days", "How many learning days do employees get?", "How many days a year are set aside for learning?"),
            ("40 pounds", "Under what price can books be bought without approval?", "What is the book price limit without approval?"),
            ("Marginalia", "What is the company book club called?", "What's the name of the book club?"),
            ("the last Wednesday of the month", "When does the book club meet?", "How often does Marginalia meet?"),
            ("Kofi Annor-Smith", "Who is the learning and development partner?", "Who looks after learning and development?"),
        ],
    ),
    dict(
        file="code-of-conduct.md",
        title="Code of conduct: gifts, conflicts and speaking up",
        body="""You may accept gifts and hospitality from suppliers up to a value of 50 pounds. Anything above that must be declared in the gifts register, even if you decline it.

Declare any conflict of interest, such as a relative working for a supplier, to the ethics officer, Mirela Constantin.

If you see something wrong, you can raise it with your manager, the people team, or anonymously through the Lantern reporting line, which is run by an outside company.

Retaliation against anyone who raises a concern in good faith is a disciplinary matter.

The code is reviewed every year by the board and everyone confirms they have read it in January.""",
        facts=[
            ("50 pounds", "What is the limit for accepting supplier gifts?", "Up to what value can I accept a gift?"),
            ("the gifts register", "Where must gifts over the limit be declared?", "Where are larger gifts recorded?"),
            ("Mirela Constantin", "Who is the ethics officer?", "Who do I tell about a conflict of interest?"),
            ("Lantern", "What is the anonymous reporting line called?", "Which line can I use to report anonymously?"),
            ("January", "In which month does everyone confirm reading the code?", "When do staff confirm they have read the code of conduct?"),
        ],
    ),
    dict(
        file="slate-specs.md",
        title="Quillfeather Slate: specifications",
        body="""The Quillfeather Slate is our flagship writing tablet.

- Display: 10.3-inch E Ink panel with a textured glass surface
- Weight: 385 grams
- Storage: 32 GB
- Battery: up to three weeks of typical use; charges fully in 90 minutes over USB-C
- Colours: Graphite and Sandstone
- Price: 399 pounds, including the Nib stylus

The Slate was launched in October 2019. The current hardware revision is called Slate R3 and added a front light with warm and cool tones.

Slates are assembled by our partner Fenwick Devices in Taiwan.""",
        facts=[
            ("10.3-inch", "How big is the Slate's display?", "What is the screen size of the Quillfeather Slate?"),
            ("385 grams", "How much does the Slate weigh?", "What is the weight of the Quillfeather Slate?"),
            ("90 minutes", "How long does the Slate take to charge fully?", "What is the full charging time of a Slate?"),
            ("Graphite and Sandstone", "Which colours does the Slate come in?", "What colour options are there for the Slate?"),
            ("399 pounds", "How much does the Slate cost?", "What is the price of a Quillfeather Slate?"),
            ("Fenwick Devices", "Who assembles the Slate?", "Which partner builds Slates?"),
        ],
    ),
    dict(
        file="slate-mini-specs.md",
        title="Slate Mini: specifications",
        body="""The Slate Mini is the pocket-sized member of the family, launched in May 2023.

- Display: 7.8-inch E Ink panel
- Weight: 240 grams
- Storage: 16 GB
- Battery: up to two weeks of typical use
- Colour: Moss only
- Price: 279 pounds; the Nib stylus is sold separately for 49 pounds

The Mini has no front light, to keep it light and thin at 5.9 millimetres.

Its code name during development was Sparrow, and you will still see that name in firmware logs.""",
        facts=[
            ("May 2023", "When was the Slate Mini launched?", "In what month did the Slate Mini come out?"),
            ("7.8-inch", "What size is the Slate Mini display?", "How big is the screen on the Slate Mini?"),
            ("240 grams", "How heavy is the Slate Mini?", "What does the Slate Mini weigh?"),
            ("Moss", "What colour is the Slate Mini?", "Which colour does the Slate Mini come in?"),
            ("279 pounds", "How much is the Slate Mini?", "What is the Slate Mini's price?"),
            ("Sparrow", "What was the Slate Mini's code name?", "Which code name appears for the Mini in firmware logs?"),
            ("5.9 millimetres", "How thin is the Slate Mini?", "What is the thickness of the Slate Mini?"),
        ],
    ),
    dict(
        file="nib-stylus.md",
        title="The Nib stylus",
        body="""The Nib is the stylus for every Slate. It needs no battery and no pairing: the tablet powers it through the screen.

It senses 4,096 levels of pressure and tilt up to 60 degrees, which lets you shade like a pencil.

The tips wear down with use, faster on the textured glass. A pack of ten replacement tips costs 12 pounds. Most people change a tip every two months.

The Nib has an eraser end, added in 2021 after it was the most requested feature in our forum.

Lost Nibs are the single most common accessory order. The Nib comes in one colour, charcoal.""",
        facts=[
            ("4,096", "How many levels of pressure does the Nib sense?", "What is the Nib's pressure sensitivity?"),
            ("60 degrees", "Up to what angle does the Nib detect tilt?", "How much tilt can the Nib sense?"),
            ("12 pounds", "How much does a pack of replacement tips cost?", "What is the price of ten Nib tips?"),
            ("every two months", "How often do most people change a Nib tip?", "How long does a Nib tip usually last?"),
            ("an eraser end", "What feature was added to the Nib in 2021?", "What did the Nib gain after forum requests?"),
            ("charcoal", "What colour is the Nib?", "Which colour does the Nib stylus come in?"),
        ],
    ),
    dict(
        file="inkwell-app.md",
        title="Inkwell app and plans",
        body="""Inkwell is the app that syncs notes between Slates, phones and computers.

The free plan includes three notebooks and sync between two devices. Inkwell Pro costs 4.99 pounds a month or 49 pounds a year and removes both limits.

Handwriting recognition works in 12 languages. Welsh was added most recently, in 2024.

Notes are end-to-end encrypted when you turn on Private Notebooks, a Pro feature.

Every Slate comes with a one-year Pro trial. The Inkwell product manager is Yusuf Demir.""",
        facts=[
            ("three notebooks", "How many notebooks does the free Inkwell plan include?", "What is the notebook limit on the free plan?"),
            ("4.99 pounds a month", "What is the monthly price of Inkwell Pro?", "How much is Inkwell Pro per month?"),
            ("12 languages", "In how many languages does handwriting recognition work?", "How many languages can Inkwell recognise?"),
            ("Welsh", "Which language was added most recently to handwriting recognition?", "What was the latest recognition language added?"),
            ("Private Notebooks", "Which Pro feature turns on end-to-end encryption?", "What is the encrypted notebook feature called?"),
            ("Yusuf Demir", "Who is the Inkwell product manager?", "Who manages the Inkwell product?"),
        ],
    ),
    dict(
        file="warranty.md",
        title="Warranty and repairs",
        body="""Every Slate and Slate Mini has a two-year limited warranty from the date of delivery. It covers faults, not accidental damage.

CarePlus extends cover to a third year and adds one accidental damage repair. It costs 49 pounds and must be bought within 60 days of delivery.

Batteries that hold less than 80 percent of their original charge within the warranty are replaced for free.

Repairs are done at our Tilburg service centre. The usual turnaround is seven working days, and we send a prepaid box.

Screen cracks outside CarePlus are repaired for a flat 89 pounds.""",
        facts=[
            ("two-year", "How long is the standard Slate warranty?", "What warranty period does a Slate have?"),
            ("CarePlus", "What is the extended warranty called?", "Which plan adds a third year of cover?"),
            ("80 percent", "Below what battery capacity is a battery replaced for free?", "At what charge level does a battery count as faulty?"),
            ("seven working days", "What is the usual repair turnaround?", "How long do repairs usually take?"),
            ("89 pounds", "How much does a cracked screen repair cost without CarePlus?", "What is the flat fee for a screen crack?"),
        ],
    ),
    dict(
        file="returns-policy.md",
        title="Customer returns",
        body="""Customers can return a new device within 30 days of delivery for a full refund, for any reason. There is no restocking fee.

Refurbished devices from the Second Nest shop can be returned within 14 days.

The customer starts a return from their account page, which creates a free return label. Refunds go back to the original payment method within five working days of the device reaching our warehouse.

Opened replacement tips and screen protectors cannot be returned, for hygiene reasons.

Gift recipients can return a device for store credit without telling the buyer.""",
        facts=[
            ("30 days", "How long do customers have to return a new device?", "What is the return window for new devices?"),
            ("14 days", "How long is the return window for refurbished devices?", "Within how many days can refurbished units be returned?"),
            ("five working days", "How quickly are refunds paid after a return arrives?", "How long does a refund take once the device is received?"),
            ("for hygiene reasons", "Why can't opened replacement tips be returned?", "What is the reason opened tips are non-returnable?"),
            ("store credit", "What do gift recipients get when they return a device?", "How are gift returns refunded?"),
        ],
    ),
    dict(
        file="support-hours.md",
        title="Customer support: hours and targets",
        body="""Customer support is open Monday to Saturday, 08:00 to 20:00 UK time. On Sundays only the help centre and community forum are available.

Customers can reach us by live chat, email, or phone on 0117 496 0321.

Our target is a first reply within four hours during opening hours. Phone calls should be answered within three minutes.

Tickets that need an engineer are escalated to the Tier 2 team, led by Brigid O'Halloran.

We measure satisfaction after every closed ticket; the goal for this year is a score of 92 or above.""",
        facts=[
            ("Monday to Saturday", "On which days is customer support open?", "Which days of the week does support work?"),
            ("0117 496 0321", "What is the customer support phone number?", "Which number can customers call for support?"),
            ("four hours", "What is the target for a first reply?", "How fast should support reply to a ticket?"),
            ("three minutes", "How quickly should support phone calls be answered?", "What is the call answer target?"),
            ("Brigid O'Halloran", "Who leads the Tier 2 team?", "Who is the Tier 2 support lead?"),
            ("92", "What is this year's customer satisfaction goal?", "What satisfaction score is support aiming for?"),
        ],
    ),
    dict(
        file="release-process.md",
        title="Firmware release process",
        body="""Slate firmware ships every six weeks, always on a Wednesday.

Code freeze is the Thursday before release. After the freeze, only fixes approved by the release manager can be merged.

Releases are rolled out in stages: 5 percent of devices on day one, 25 percent on day three, and everyone after a week if crash rates stay flat.

Each release is named after a British river, in alphabetical order; the last one was Tamar.

The release manager is Petra Holm. Release notes are written by the support team so they make sense to customers.""",
        facts=[
            ("every six weeks", "How often does Slate firmware ship?", "What is the firmware release cadence?"),
            ("the Thursday before release", "When is code freeze?", "On which day does the code freeze happen?"),
            ("5 percent", "What share of devices gets a release on day one?", "How big is the first rollout stage?"),
            ("a British river", "What are firmware releases named after?", "Where do release names come from?"),
            ("Petra Holm", "Who is the release manager?", "Who approves fixes after code freeze?"),
        ],
    ),
    dict(
        file="engineering-oncall.md",
        title="Engineering on-call",
        body="""Engineers on the sync and firmware teams join the on-call rota after their probation. Shifts last one week and hand over on Mondays at 11:00.

On-call pay is 300 pounds per week, plus 60 pounds for each night-time page you answer.

Pages come through Bellhop, our paging tool. A severity-one incident must be acknowledged within 15 minutes.

After any severity-one incident, the team writes a blameless review within five working days and shares it in the #incidents channel.

Nobody is on call more than one week in four. Swaps are arranged directly between engineers and recorded in Bellhop.""",
        facts=[
            ("Mondays at 11:00", "When do on-call shifts hand over?", "At what time is the on-call handover?"),
            ("300 pounds per week", "How much is on-call pay?", "What is the weekly on-call payment?"),
            ("Bellhop", "What is the paging tool called?", "Which tool sends on-call pages?"),
            ("15 minutes", "How quickly must a severity-one incident be acknowledged?", "What is the acknowledgement target for sev-one pages?"),
            ("a blameless review", "What is written after a severity-one incident?", "What document follows a sev-one incident?"),
            ("one week in four", "How often at most is someone on call?", "What is the maximum on-call frequency?"),
        ],
    ),
    dict(
        file="brand-guidelines.md",
        title="Brand basics",
        body="""Our primary colour is Heron Blue, hex 1F4E79. The accent colour, used sparingly for buttons and highlights, is Ember, hex E4572E.

Headlines use the Larkspur Serif typeface; body text uses Larkspur Sans.

The feather logo needs clear space equal to the height of the letter Q on every side. Never rotate it or place it on a photo without the white badge.

We write in British English and use sentence case in headings.

The brand team is led by Anouk Visser. Ask in the #brand channel before printing anything customers will see.""",
        facts=[
            ("Heron Blue", "What is Quillfeather's primary brand colour?", "What is the main brand colour called?"),
            ("Ember", "What is the accent colour called?", "Which colour is used for buttons and highlights?"),
            ("Larkspur Serif", "Which typeface is used for headlines?", "What font do headlines use?"),
            ("British English", "Which spelling standard does Quillfeather write in?", "What variety of English do we use?"),
            ("Anouk Visser", "Who leads the brand team?", "Who is head of brand?"),
        ],
    ),
    dict(
        file="sustainability.md",
        title="Sustainability",
        body="""All Slate packaging is made from 100 percent recycled cardboard and is printed with soy-based ink. We removed the last plastic tray in 2022.

Our Second Nest programme takes back old devices, refurbishes them in Tilburg and sells them at a discount. Customers who trade in a device get a 40 pound voucher.

Quillfeather aims to be carbon neutral across its own operations by 2030.

The sustainability report is published every June. The sustainability lead is Esther Mwangi.

Employees who cycle or walk to work at least three days a week can join the Pedal Forest scheme, which plants a tree for every 500 kilometres logged.""",
        facts=[
            ("soy-based ink", "What ink is used on Slate packaging?", "What is the packaging printed with?"),
            ("a 40 pound voucher", "What do customers get for trading in an old device?", "What is the Second Nest trade-in reward?"),
            ("2030", "By when does Quillfeather aim to be carbon neutral?", "What is the carbon neutral target year?"),
            ("every June", "When is the sustainability report published?", "In which month does the sustainability report come out?"),
            ("Esther Mwangi", "Who is the sustainability lead?", "Who leads sustainability?"),
            ("Pedal Forest", "What is the scheme for people who cycle or walk to work called?", "Which scheme plants trees for commuting kilometres?"),
        ],
    ),
    dict(
        file="events-and-socials.md",
        title="Events and socials",
        body="""The summer party is held on the second Saturday of July, usually at Ashton Court, and families are welcome.

In December we hold the Quill Awards, where colleagues vote for the people who helped them most during the year.

Every Thursday from 17:00 there are drinks and board games in the canteen; soft drinks are always on offer.

Each team gets a social budget of 25 pounds per person per quarter.

The social committee is chaired by Lorenzo Bassi. New members join every January.""",
        facts=[
            ("the second Saturday of July", "When is the summer party?", "On what date is the summer party usually held?"),
            ("Ashton Court", "Where is the summer party usually held?", "What is the usual venue for the summer party?"),
            ("the Quill Awards", "What event is held in December?", "What are the December awards called?"),
            ("17:00", "What time do Thursday drinks start?", "When do the Thursday board games begin?"),
            ("25 pounds", "What is the team social budget per person per quarter?", "How much social budget does each team get per person?"),
            ("Lorenzo Bassi", "Who chairs the social committee?", "Who is the social committee chair?"),
        ],
    ),
    dict(
        file="kitchen-and-facilities.md",
        title="Kitchen and facilities",
        body="""Breakfast is free on Wednesdays and Fridays: porridge, fruit and pastries from the bakery across the road, Crumb and Co.

Please label food in the fridges with your name and the date. The fridges are cleared every Friday at 16:00.

The coffee machine on the fifth floor is serviced on Monday mornings, so expect instant coffee until 10:00.

Showers and lockers are in the basement. Lockers are first come, first served; leave nothing in them overnight.

Report broken furniture or heating problems to the facilities manager, Declan Moriarty, through the facilities form.""",
        facts=[
            ("Crumb and Co", "Which bakery supplies the breakfast pastries?", "Where do the breakfast pastries come from?"),
            ("every Friday at 16:00", "When are the office fridges cleared?", "At what time are the fridges emptied each week?"),
            ("Monday mornings", "When is the fifth floor coffee machine serviced?", "When is the coffee machine out of action?"),
            ("the basement", "Where are the showers and lockers?", "On which level can I find the lockers?"),
            ("Declan Moriarty", "Who is the facilities manager?", "Who do I tell about broken heating?"),
        ],
    ),
    dict(
        file="hiring-process.md",
        title="Hiring and referrals",
        body="""Most roles have four interview stages: a call with a recruiter, a skills interview, a take-home exercise and a final conversation about values.

Take-home exercises must take no more than three hours. We pay candidates 150 pounds for completing one.

If you refer someone who is hired and passes probation, you receive a referral bonus of 2,000 pounds.

Every interviewer completes the Fair Hiring course before joining a panel.

Candidates hear back within five working days after each stage. The head of talent is Samira Haddou.""",
        facts=[
            ("four interview stages", "How many interview stages do most roles have?", "How many rounds is the usual interview process?"),
            ("three hours", "What is the maximum length of a take-home exercise?", "How long may a take-home exercise take at most?"),
            ("150 pounds", "How much are candidates paid for a take-home exercise?", "What do we pay candidates for the take-home task?"),
            ("2,000 pounds", "How big is the referral bonus?", "What do I get for a successful referral?"),
            ("Fair Hiring", "Which course must interviewers complete?", "What training is required before interviewing?"),
            ("Samira Haddou", "Who is the head of talent?", "Who leads recruiting?"),
        ],
    ),
    dict(
        file="company-history.md",
        title="A short history",
        body="""Quillfeather's first product, the Quillfeather One, shipped in 2016 after a crowdfunding campaign that raised 310,000 pounds from 4,200 backers.

In 2018 we moved from a shared studio into Saltmarsh House.

In 2020 we bought Margin Notes, a small PDF annotation app, whose team built the first version of Inkwell sync.

A Series B round of 28 million pounds, led by Greyfield Ventures, followed in 2022 and paid for the Lisbon office and the Slate Mini.

The one millionth Slate was sold in March 2024.""",
        facts=[
            ("the Quillfeather One", "What was Quillfeather's first product?", "What was the first device Quillfeather shipped?"),
            ("310,000 pounds", "How much did the crowdfunding campaign raise?", "What did the original crowdfunding bring in?"),
            ("Margin Notes", "Which app did Quillfeather buy in 2020?", "What company was acquired in 2020?"),
            ("28 million pounds", "How big was the Series B round?", "How much was raised in the Series B?"),
            ("Greyfield Ventures", "Who led the Series B?", "Which investor led the 2022 funding round?"),
            ("March 2024", "When was the one millionth Slate sold?", "When did Slate sales reach one million?"),
        ],
    ),
    dict(
        file="business-and-education.md",
        title="Plans for schools and businesses",
        body="""Quillfeather Teams is the plan for companies. It needs at least five seats and costs 8 pounds per user per month, billed yearly.

Teams adds shared notebooks, single sign-on and an admin console.

Students and teachers get a 20 percent discount on devices, verified through StudentPass.

Schools that buy 30 or more Slates receive a free charging cart and a half-day training session.

Devices bought on a Teams plan can be wiped and reassigned from the admin console when someone leaves.

Business and education sales are handled by Amara Eze.""",
        facts=[
            ("five seats", "What is the minimum size of a Quillfeather Teams plan?", "How many seats does Teams require at least?"),
            ("8 pounds per user per month", "How much does Quillfeather Teams cost?", "What is the per-user price of Teams?"),
            ("20 percent", "How big is the education discount?", "What discount do students get on devices?"),
            ("StudentPass", "How is the education discount verified?", "Which service checks student eligibility?"),
            ("a free charging cart", "What do schools get when they buy 30 or more Slates?", "What comes free with a large school order?"),
            ("Amara Eze", "Who handles business and education sales?", "Who do schools contact to buy in bulk?"),
        ],
    ),
    dict(
        file="meeting-rooms.md",
        title="Meeting rooms",
        body="""Meeting rooms at Saltmarsh House are named after birds.

- Wren: 4 people, a phone booth on the second floor
- Kestrel: 12 people, on the ground floor, used for onboarding
- Osprey: 20 people, on the fourth floor, with the best video-conference kit
- Curlew: 8 people, on the third floor, with a whiteboard wall

Book rooms through the calendar. Bookings longer than two hours need a note explaining why.

If nobody turns up within 10 minutes of the start, the booking is released automatically. The Osprey room is reserved for the leadership meeting every Monday from 09:00 to 10:30.""",
        facts=[
            ("birds", "What are the meeting rooms named after?", "What theme do meeting room names follow?"),
            ("Osprey", "Which meeting room has the best video-conference kit?", "What is the largest meeting room?"),
            ("Curlew", "Which room has a whiteboard wall?", "Which meeting room seats 8 people?"),
            ("4 people", "How many people fit in the Wren room?", "What is Wren's capacity?"),
            ("10 minutes", "After how long is an unused booking released?", "How long until a no-show booking is freed?"),
            ("the leadership meeting", "What is the Osprey room reserved for on Mondays?", "Who has the Osprey room on Monday mornings?"),
        ],
    ),
    dict(
        file="data-retention.md",
        title="Customer data retention",
        body="""When a customer closes their account, their notes are deleted after a 90-day grace period, in case they change their mind.

Encrypted backups are kept for 35 days and then destroyed.

Support tickets are kept for four years for quality and legal reasons, with payment details removed.

Customers can download all their data as a ZIP file from the privacy page at any time; the export is ready within 24 hours.

Our data protection officer is Olu Adeyemi, reachable at privacy@quillfeather.example. Data requests must be answered within one month.""",
        facts=[
            ("90-day", "How long after account closure are notes deleted?", "What is the grace period before a closed account's notes are deleted?"),
            ("35 days", "How long are encrypted backups kept?", "What is the backup retention period?"),
            ("four years", "How long are support tickets kept?", "What is the retention period for support tickets?"),
            ("a ZIP file", "In what format can customers download their data?", "What does a customer data export come as?"),
            ("Olu Adeyemi", "Who is the data protection officer?", "Who is Quillfeather's DPO?"),
            ("one month", "How quickly must data requests be answered?", "What is the deadline for answering a data request?"),
        ],
    ),
    dict(
        file="product-roadmap-process.md",
        title="How the roadmap is made",
        body="""The product roadmap is planned every quarter at a two-day offsite called Compass.

Ideas come from the community forum, support tickets and the research team. Each idea is scored on reach, impact and effort before it can be planned.

Customer-facing commitments are only made once a feature reaches beta. Until then, support should say "we are exploring it".

The public roadmap page is updated on the first working day of each quarter.

The head of product is Hamid Rahimi, and the user research lead is Clara Lindgren.""",
        facts=[
            ("Compass", "What is the quarterly roadmap offsite called?", "What is the name of the roadmap planning offsite?"),
            ("reach, impact and effort", "On what are roadmap ideas scored?", "Which three factors are used to score ideas?"),
            ("beta", "At what stage can customer commitments be made for a feature?", "When can support promise a feature to customers?"),
            ("Hamid Rahimi", "Who is the head of product?", "Who leads product at Quillfeather?"),
            ("Clara Lindgren", "Who is the user research lead?", "Who leads user research?"),
        ],
    ),
]

# Documents whose facts are asked about only in the eval split (no train question touches them).
EVAL_ONLY = {
    "office-lisbon.md", "parental-leave.md", "slate-mini-specs.md", "sustainability.md",
    "engineering-oncall.md", "learning-budget.md", "meeting-rooms.md", "data-retention.md",
}
