"""Names and shapes for the synthetic registry: forces, places, people, platforms, handles."""

from __future__ import annotations


def _words(text: str) -> list[str]:
    return text.split()


_FORCES = (
    "avon-somerset:Avon and Somerset Constabulary:3|bedfordshire:Bedfordshire Police:1|"
    "cambs:Cambridgeshire Constabulary:1|cheshire:Cheshire Constabulary:2|"
    "city-of-london:City of London Police:1|cleveland:Cleveland Police:1|"
    "cumbria:Cumbria Constabulary:1|derbyshire:Derbyshire Constabulary:2|"
    "devon-cornwall:Devon and Cornwall Police:3|dorset:Dorset Police:1|"
    "durham:Durham Constabulary:1|dyfed-powys:Dyfed-Powys Police:1|essex:Essex Police:3|"
    "gloucestershire:Gloucestershire Constabulary:1|gmp:Greater Manchester Police:6|"
    "gwent:Gwent Police:1|hampshire:Hampshire and Isle of Wight Constabulary:3|"
    "herts:Hertfordshire Constabulary:2|humberside:Humberside Police:2|kent:Kent Police:3|"
    "lancashire:Lancashire Constabulary:3|leics:Leicestershire Police:2|"
    "lincs:Lincolnshire Police:1|merseyside:Merseyside Police:3|"
    "met:Metropolitan Police Service:12|norfolk:Norfolk Constabulary:1|"
    "north-wales:North Wales Police:1|north-yorks:North Yorkshire Police:1|"
    "northants:Northamptonshire Police:1|northumbria:Northumbria Police:3|"
    "notts:Nottinghamshire Police:2|south-wales:South Wales Police:2|"
    "south-yorks:South Yorkshire Police:2|staffs:Staffordshire Police:2|"
    "suffolk:Suffolk Constabulary:1|surrey:Surrey Police:2|sussex:Sussex Police:2|"
    "thames-valley:Thames Valley Police:3|warwickshire:Warwickshire Police:1|"
    "west-mercia:West Mercia Police:2|wmids:West Midlands Police:5|"
    "west-yorks:West Yorkshire Police:4|wiltshire:Wiltshire Police:1|scotland:Police Scotland:6|"
    "psni:Police Service of Northern Ireland:3|btp:British Transport Police:2|"
    "cnc:Civil Nuclear Constabulary:1|mod:Ministry of Defence Police:1"
)


FORCES = [(c, n, int(w)) for c, n, w in (e.split(":") for e in _FORCES.split("|"))]
TOWNS = _words(
    "Abbey Ashford Barton Beacon Bridgeford Brook Castle Chapel Church Cliff Cross Dale "
    "Eastgate Fairfield Forest Gate Green Harbour Heath Highfield Hill Kings Lake Lea Manor "
    "Marsh Meadow Mill Moor Newtown Northgate Oak Park Priory Queens Riverside Southgate "
    "Stone Vale Westgate Wood"
)
SPECIALISTS = (
    "Dog Unit", "Roads Policing Unit", "Firearms", "Marine Unit", "Mounted Branch",
    "Rural Crime Team", "Cyber Crime Unit", "Wildlife Crime", "Drone Unit", "Special Constabulary",
)  # fmt: skip
FIRST = _words(
    "Aisha Alex Amir Ben Chloe Chris Dan Deepa Ella Emma Faisal Grace Hannah Harry Imran Jack "
    "James Jo Kate Leah Liam Lucy Mark Mo Nadia Olivia Owen Priya Rachel Ryan Sam Sarah Sophie "
    "Tom Una Vic Will Yusuf Zara"
)
LAST = _words(
    "Ahmed Baker Brown Clarke Davies Evans Green Hall Harris Hughes Jackson Jones Khan Lewis "
    "Martin Morgan Patel Roberts Robinson Shah Smith Taylor Thomas Thompson Turner Walker White "
    "Williams Wilson Wood Wright Young"
)
TITLES = (
    "Police Constable", "Sergeant", "Inspector", "PCSO", "Communications Officer",
    "Digital Media Officer", "Chief Inspector", "Detective Constable", "Special Constable",
)  # fmt: skip
OBJECTIVES = (
    ("ENGAGE", "Engage with communities"), ("APPEAL", "Appeals for information"),
    ("PREVENT", "Crime prevention advice"), ("RECRUIT", "Recruitment"),
    ("ROADS", "Road safety"), ("REASSURE", "Public reassurance"),
)  # fmt: skip
PLATFORM_WEIGHTS = {
    "x": 34, "facebook": 30, "instagram": 12, "youtube": 3, "tiktok": 4, "threads": 3,
    "linkedin": 3, "nextdoor": 5, "bluesky": 2, "mastodon": 1, "snapchat": 1, "flickr": 1,
    "other": 1,
}  # fmt: skip
SEED_ACTOR = ("seed", ["admin"], None)
COLLECTOR = ("collector@registry", ["collector"], None)


def _b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


def handle_for(platform: str, code: str, n: int) -> str:
    """A valid, registry-unique handle for account number n of a force."""
    c, b = code.replace("-", ""), _b36(n)
    return {
        "x": f"{c[:5]}_{b}", "facebook": f"{c}.police.{b}", "instagram": f"{c}_{b}",
        "youtube": f"{c}-{b}", "tiktok": f"{c[:12]}.{b}", "threads": f"{c}.{b}",
        "linkedin": f"company/{code}-{b}", "nextdoor": f"agency-detail/{code}/{b}",
        "bluesky": f"{c}{b}.bsky.social", "mastodon": f"{c}{b}@police.social",
        "snapchat": f"{c[:5]}.{b}", "flickr": f"{c}-{b}", "other": f"{code}-police.example/{b}",
    }[platform]  # fmt: skip
