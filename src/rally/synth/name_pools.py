"""Name pools for synthetic leagues: people, clubs and their venues."""

from __future__ import annotations

from typing import NamedTuple

MEN_FIRST: tuple[str, ...] = (
    "Mike", "John", "Matt", "David", "Michael", "Chris", "Brian", "Steve", "Dan", "Mark",
    "Ryan", "Scott", "Tom", "Jeff", "Kevin", "Andrew", "Jason", "Tim", "Jim", "Rob",
    "Bill", "Greg", "Paul", "Peter", "Eric", "Todd", "Doug", "Brad", "Kyle", "Sean",
    "Patrick", "Nick", "Ben", "Sam", "Will", "Charlie", "Jack", "Henry", "Ted", "Rick",
    "Joe", "Tony", "Marc", "Craig", "Ken", "Bruce", "Karl", "Pete", "Hunter", "Clyde",
    "Anthony", "Eddie", "Dave", "Erik", "Jamie", "Aaron", "Ian", "Connor", "Jacob", "Howard",
    "Lee", "Andy", "Hal", "Christian", "Brenden", "Todd", "Bryan", "Alex", "Zach", "Josh",
    "Adam", "Eli", "Gordon", "Phil", "Neil", "Ross", "Walter", "Frank", "George", "Larry",
    "Jon", "Jonathan", "Stuart", "Derek", "Grant", "Wes", "Trevor", "Cole", "Luke", "Owen",
)  # fmt: skip

WOMEN_FIRST: tuple[str, ...] = (
    "Sari", "Lisa", "Samantha", "Debbie", "Alison", "Chris", "Ellie", "Christine", "Stephanie",
    "Sydney", "Danielle", "Keri", "Maggie", "Josie", "Jessica", "Ronnie", "Susan", "Laura",
    "Jenny", "Sandy", "Katie", "Nancy", "Courtney", "Leslie", "Heather", "Chrissy", "Jill",
    "Colby", "Tereza", "Lindsey", "Heidy", "Elizabeth", "Julie", "Carla", "Lauren", "Anne",
    "Mary", "Kate", "Molly", "Sarah", "Emily", "Amy", "Megan", "Kristen", "Beth", "Liz",
    "Meredith", "Allison", "Caroline", "Claire", "Grace", "Holly", "Jane", "Karen", "Linda",
    "Lucy", "Margaret", "Nora", "Paige", "Rachel", "Sophie", "Tracy", "Wendy", "Whitney",
    "Abby", "Beverly", "Cathy", "Diane", "Erin", "Fiona", "Gina", "Helen", "Ivy", "Joan",
)  # fmt: skip

LAST: tuple[str, ...] = (
    "McPherson", "Bouchard", "DeLaCruz", "Hirsch", "Korach", "Borstein", "Clarkson", "Wallace",
    "Maloney", "Lothan", "Billings", "Snyder", "Hoesley", "Mayles", "Poehling", "Colin", "Barr",
    "Hub", "Woods", "Fessler", "Aguayo", "Ainsworth", "Katz", "Morgan", "Gaspadarek", "Hay",
    "Kramer", "Turner", "Hughes", "Sims", "Han", "Lehr", "Desio", "Caruso", "Travetto",
    "Dahlquist", "Sitar", "Fitzsimons", "Gaines", "Ivanchyk", "Giglio", "Rosedale", "Grainger",
    "Best", "Hitchcock", "Isaacson", "Fox", "Fish", "Silverman", "Gordy", "Rylance", "Silver",
    "Lorenz", "Martens", "Latimer", "Kurowski", "Sinha", "Rosenberg", "Zusman", "Cohen",
    "Block", "Abrams", "Bryant", "Steinberg", "Bolan", "Surpless", "Apmann", "Izzo", "Granger",
    "Margol", "Franks", "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis",
    "Wilson", "Anderson", "Taylor", "Thomas", "Moore", "Martin", "Jackson", "Thompson", "White",
    "Harris", "Clark", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Hill", "Green", "Adams", "Nelson", "Baker", "Hall", "Campbell", "Mitchell",
    "Carter", "Roberts", "Phillips", "Evans", "Collins", "Stewart", "Murphy", "Cook", "Rogers",
    "Reed", "Bailey", "Bell", "Kelly", "Howard", "Ward", "Cox", "Richardson", "Wood", "Watson",
    "Brooks", "Bennett", "Gray", "Hughes", "Price", "Sanders", "Myers", "Long", "Ross",
    "Foster", "Powell", "Jenkins", "Perry", "Russell", "Sullivan", "Fisher", "Henderson",
    "Coleman", "Patterson", "Jordan", "Reynolds", "Hamilton", "Graham", "Wallace", "Cole",
    "West", "Stone", "Meyer", "Boyd", "Mills", "Warren", "Fox", "Rose", "Rice", "Moreno",
    "Schmidt", "Weber", "Becker", "Schultz", "Hoffman", "Koch", "Richter", "Klein", "Wolf",
    "Schroeder", "Neumann", "Braun", "Zimmerman", "Krueger", "Hartmann", "Lange", "Werner",
    "O'Brien", "O'Connor", "McCarthy", "Gallagher", "Doyle", "Walsh", "Byrne", "Ryan",
    "Kennedy", "Lynch", "Murray", "Quinn", "Moran", "Keane", "Brennan", "Burke", "Dunne",
    "Nowak", "Kowalski", "Wisniewski", "Kaminski", "Lewandowski", "Zielinski", "Szymanski",
    "Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci", "Marino",
    "Greco", "Bruno", "Gallo", "Conti", "DeLuca", "Costa", "Giordano", "Mancini", "Rizzo",
    "Lombardi", "Moretti", "Nakamura", "Tanaka", "Kim", "Park", "Lee", "Chen", "Wang", "Patel",
    "Shah", "Mehta", "Gupta", "Singh", "Garcia", "Martinez", "Rodriguez", "Lopez", "Gonzalez",
    "Hernandez", "Perez", "Sanchez-Palacios", "Ramirez", "Torres", "Flores", "Rivera",
    "Gomez", "Diaz", "Reyes", "Cruz", "Morales", "Ortiz", "Gutierrez", "Chavez", "Ramos",
    "Vance", "Whitaker", "Ellison", "Prescott", "Thornton", "Langley", "Pembrook", "Ashford",
    "Kendall", "Hollis", "Barrett", "Caldwell", "Dalton", "Emerson", "Fairbanks", "Garrison",
    "Hastings", "Ingram", "Jennings", "Kirkland", "Lockwood", "Mercer", "Norwood", "Oakley",
    "Pruitt", "Radcliffe", "Sherwood", "Talbot", "Underwood", "Vaughn", "Whitfield", "Yates",
)  # fmt: skip


class Club(NamedTuple):
    """A club as the leagues spell it in team names, plus its venue."""

    name: str
    venue: str


CLUBS: tuple[Club, ...] = (
    Club("Birchwood", "The Birchwood Club"),
    Club("Briarwood", "Briarwood Country Club"),
    Club("Bryn Mawr", "Bryn Mawr Country Club"),
    Club("Butterfield", "Butterfield Country Club"),
    Club("Evanston", "Evanston Golf Club"),
    Club("Exmoor", "Exmoor Country Club"),
    Club("Glen Ellyn", "Glen Ellyn Park District"),
    Club("Glen View", "Glen View Club"),
    Club("Glenbrook RC", "Glenbrook Racquet Club"),
    Club("Hinsdale PC", "Hinsdale Paddle Club"),
    Club("Indian Hill", "Indian Hill Club"),
    Club("Knollwood", "Knollwood Club"),
    Club("Lake Bluff", "Lake Bluff Park District"),
    Club("Lake Forest", "Lake Forest Club"),
    Club("Lake Shore CC", "Lake Shore Country Club"),
    Club("Lakeshore S&F", "Lakeshore Sport and Fitness"),
    Club("LifeSport", "LifeSport Athletic Club"),
    Club("Michigan Shores", "Michigan Shores Club"),
    Club("Midtown - Chicago", "Midtown Athletic Club"),
    Club("Midtown - Palatine", "Midtown Palatine"),
    Club("North Shore", "North Shore Country Club"),
    Club("Northmoor", "Northmoor Country Club"),
    Club("Old Willow", "Old Willow Club"),
    Club("Onwentsia", "Onwentsia Club"),
    Club("Park Ridge", "Park Ridge Country Club"),
    Club("Prairie Club", "Prairie Club"),
    Club("Ravinia Green", "Ravinia Green Country Club"),
    Club("River Trails", "River Trails Tennis Center"),
    Club("Ruth Lake", "Ruth Lake Country Club"),
    Club("Saddle & Cycle", "Saddle & Cycle Club"),
    Club("Salt Creek", "Salt Creek Club"),
    Club("Skokie", "Skokie Country Club"),
    Club("South Barrington", "South Barrington Club"),
    Club("Sunset Ridge", "Sunset Ridge Country Club"),
    Club("Tennaqua", "Tennaqua Swim & Racquet Club"),
    Club("Valley Lo", "Valley Lo Club"),
    Club("Westmoreland", "Westmoreland Country Club"),
    Club("Wilmette PD", "Wilmette Platform Tennis Club"),
    Club("Winnetka", "Winnetka Platform Tennis Club"),
    Club("Winter Club", "Winter Club"),
    Club("Barrington Hills CC", "Barrington Hills Country Club"),
    Club("Biltmore CC", "Biltmore Country Club"),
    Club("Hawthorn Woods", "Hawthorn Woods Country Club"),
    Club("Inverness", "Inverness Golf Club"),
    Club("Chicago Highlands", "Chicago Highlands Club"),
    Club("College Park - East", "College Park Athletic Club East"),
    Club("Northbrook RC", "Northbrook Racquet Club"),
    Club("Racquet Club of Lake Bluff", "Racquet Club of Lake Bluff"),
    Club("Hinsdale GC", "Hinsdale Golf Club"),
    Club("Wilmette", "Wilmette Platform Tennis Club"),
    Club("Lifesport - Libertyville", "Lifesport Libertyville"),
    Club("Medinah", "Medinah Country Club"),
    Club("Ridge CC", "Ridge Country Club"),
    Club("Beverly CC", "Beverly Country Club"),
    Club("Edgewood Valley", "Edgewood Valley Country Club"),
    Club("Oak Park CC", "Oak Park Country Club"),
    Club("Riverside", "Riverside Golf Club"),
    Club("Westmoor", "Westmoor Club"),
    Club("Glenview Park", "Glenview Park District"),
    Club("Deerfield", "Deerfield Park District"),
)

# CITA levels: each becomes "Series <level>", and a schedule team "<Club> - <level>".
CITA_LEVELS: tuple[str, ...] = (
    "3.0 & Under Thur", "3.5 & Under Wed", "4.0 & Under Wed", "4.5 & Under Fri", "Open Fri",
    "4.0 & Under Sat", "3.5 & Under Sat", "4.0 Singles Sun", "4.5 Singles Sun",
    "4.0 & Under Fri", "4.5 & Under Sat", "3.0 - 3.5 Singles Thur", "4.0 - 4.5 Singles Thur",
    "4.5+ Sat", "3.5 & Under Mon", "4.0 & Under Tue",
)  # fmt: skip
