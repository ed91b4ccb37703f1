"""Reference tables the synthetic population draws on.

Given names are ONS's most popular baby names in England and Wales (2008-2024), in rough rank
order, so draws are Zipf-weighted by position; surnames come from Faker's ONS-weighted en_GB list.
Local authorities carry their real DfE LA numbers (so UPNs validate) and real postcode districts.
"""

from dataclasses import dataclass

BOYS = """Oliver Muhammad George Noah Arthur Leo Harry Oscar Archie Henry Theodore Freddie Jack Charlie
Theo Alfie Jacob Thomas Finley Arlo William Lucas Roman Tommy Isaac Teddy Alexander Luca Edward
James Joshua Albie Elijah Max Mohammed Reuben Mason Sebastian Rory Jude Louie Benjamin Ethan
Adam Hunter Zachary Hugo Daniel Harrison Ronnie Frankie Toby Samuel Joseph Harvey Jaxon Dylan
Ezra Elliot Jenson Louis Grayson Harley Riley Reggie Ralph Jasper Ollie Carter Michael Dexter
Logan Ryan Ibrahim Ellis Jayden Liam Yusuf Jake Nathan Kai Callum Lewis Kian Tyler Connor Kyle
Aaron Owen Cameron Ben Matthew Ryan Bradley Luke Aiden Jamie Kieran Declan Hamza Ayaan Omar
Stanley Felix Nathaniel Caleb Gabriel""".split()

GIRLS = """Olivia Amelia Isla Ava Lily Freya Ivy Florence Mia Willow Rosie Sophia Isabella Grace Daisy
Sienna Poppy Elsie Emily Ella Evelyn Phoebe Sofia Evie Charlotte Harper Millie Matilda Maya
Sophie Alice Emilia Isabelle Ruby Luna Maisie Aria Penelope Mila Bonnie Eva Hallie Eliza Ada
Violet Esme Arabella Imogen Jessica Delilah Thea Layla Rose Lottie Georgia Chloe Ellie Scarlett
Hannah Zara Aisha Maryam Fatima Eleanor Harriet Nancy Lucy Molly Megan Abigail Holly Lola Katie
Amy Lauren Bethany Emma Leah Erin Caitlin Niamh Keira Summer Jasmine Paige Libby Amber Hollie
Nevaeh Elizabeth Anna Clara Iris Martha Edith Beatrice Orla Robyn Aoife Ayesha Hafsa Khadija
Zainab Victoria""".split()

STREET_WORDS = """Oak Elm Ash Beech Birch Cedar Willow Maple Holly Rowan Chestnut Hawthorn Station Church Mill
Park Victoria Albert Queen King Windsor York Clarence Grange Manor Orchard Meadow Brook Spring
Green Hill Farm Bridge Market High School Chapel Castle Abbey Priory Moor Field Heath Lime
Poplar""".split()

STREET_SUFFIXES = """Road Street Avenue Close Lane Drive Way Crescent Gardens Grove Place Terrace
Court Walk View Rise Mews""".split()


@dataclass(frozen=True)
class LocalAuthority:
    number: int  # the DfE LA number, as carried in UPNs
    name: str
    weight: float  # rough share of England's children
    towns: tuple[tuple[str, tuple[str, ...]], ...]  # (post town, postcode districts)


def _districts(prefix: str, *numbers: int) -> tuple[str, ...]:
    return tuple(f"{prefix}{n}" for n in numbers)


LOCAL_AUTHORITIES: tuple[LocalAuthority, ...] = (
    LocalAuthority(202, "London Borough of Camden", 0.8, (("London", ("NW1", "NW3", "NW5", "NW6", "WC1")),)),
    LocalAuthority(204, "London Borough of Hackney", 1.0, (("London", ("E5", "E8", "E9", "N16", "N1")),)),
    LocalAuthority(
        208, "London Borough of Lambeth", 1.0, (("London", ("SE11", "SE24", "SE27", "SW2", "SW4", "SW9")),)
    ),
    LocalAuthority(330, "Birmingham City Council", 4.0, (("Birmingham", _districts("B", *range(1, 46))),)),
    LocalAuthority(
        352,
        "Manchester City Council",
        2.0,
        (("Manchester", _districts("M", 1, 4, 8, 9, 11, 12, 13, 14, 15, 16, 18, 19, 20, 21, 22, 23, 40)),),
    ),
    LocalAuthority(383, "Leeds City Council", 2.7, (("Leeds", _districts("LS", *range(1, 30))),)),
    LocalAuthority(373, "Sheffield City Council", 1.9, (("Sheffield", _districts("S", *range(1, 36))),)),
    LocalAuthority(341, "Liverpool City Council", 1.6, (("Liverpool", _districts("L", *range(1, 37))),)),
    LocalAuthority(
        391, "Newcastle City Council", 1.0, (("Newcastle upon Tyne", _districts("NE", *range(1, 16))),)
    ),
    LocalAuthority(801, "Bristol City Council", 1.6, (("Bristol", _districts("BS", *range(1, 17))),)),
    LocalAuthority(892, "Nottingham City Council", 1.1, (("Nottingham", _districts("NG", *range(1, 12))),)),
    LocalAuthority(856, "Leicester City Council", 1.3, (("Leicester", _districts("LE", 1, 2, 3, 4, 5)),)),
    LocalAuthority(
        886,
        "Kent County Council",
        5.5,
        (
            ("Maidstone", _districts("ME", 14, 15, 16, 17)),
            ("Canterbury", _districts("CT", 1, 2, 3, 4)),
            ("Ashford", _districts("TN", 23, 24, 25, 26, 27)),
            ("Margate", ("CT9",)),
        ),
    ),
    LocalAuthority(
        908,
        "Cornwall Council",
        1.8,
        (
            ("Truro", _districts("TR", 1, 2, 3, 4)),
            ("Penzance", _districts("TR", 18, 19, 20)),
            ("Bodmin", ("PL31",)),
        ),
    ),
    LocalAuthority(
        926,
        "Norfolk County Council",
        3.0,
        (
            ("Norwich", _districts("NR", *range(1, 8))),
            ("King's Lynn", ("PE30",)),
        ),
    ),
    LocalAuthority(
        878,
        "Devon County Council",
        2.5,
        (
            ("Exeter", _districts("EX", 1, 2, 3, 4)),
            ("Barnstaple", ("EX31", "EX32")),
        ),
    ),
    LocalAuthority(
        888,
        "Lancashire County Council",
        4.2,
        (
            ("Preston", _districts("PR", 1, 2, 3, 4, 5)),
            ("Lancaster", ("LA1",)),
            ("Burnley", ("BB10", "BB11", "BB12")),
        ),
    ),
    LocalAuthority(
        881,
        "Essex County Council",
        5.2,
        (
            ("Chelmsford", _districts("CM", 1, 2, 3)),
            ("Colchester", _districts("CO", 1, 2, 3, 4)),
            ("Basildon", _districts("SS", 13, 14, 15, 16)),
        ),
    ),
    LocalAuthority(
        909,
        "Cumbria County Council",
        1.6,
        (
            ("Carlisle", _districts("CA", 1, 2, 3)),
            ("Kendal", ("LA9",)),
        ),
    ),
    LocalAuthority(
        850,
        "Hampshire County Council",
        4.5,
        (
            ("Winchester", ("SO22", "SO23")),
            ("Basingstoke", _districts("RG", 21, 22, 23, 24)),
            ("Andover", ("SP10", "SP11")),
        ),
    ),
)

# Inward codes: a digit then two letters, never C, I, K, M, O or V.
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"

# Services that work with a minority of children, with the share of children each reaches.
SOCIAL_CARE_SHARE = 0.035
EARLY_HELP_SHARE = 0.03
HEALTH_SERVICE_SHARE = 0.05
YOUTH_JUSTICE_SHARE_10_17 = 0.012
