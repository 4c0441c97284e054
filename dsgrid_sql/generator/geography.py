"""Real-looking US geography for generated registries: states with FIPS codes, census
divisions and regions, dominant time zones, and counties with FIPS-shaped ids."""

from __future__ import annotations

from dataclasses import dataclass

# fips, abbreviation, name, census division, time zone, number of counties (approximate).
_STATES: tuple[tuple[str, str, str, str, str, int], ...] = (
    ("01", "AL", "Alabama", "east_south_central", "America/Chicago", 67),
    ("04", "AZ", "Arizona", "mountain", "America/Phoenix", 15),
    ("05", "AR", "Arkansas", "west_south_central", "America/Chicago", 75),
    ("06", "CA", "California", "pacific", "America/Los_Angeles", 58),
    ("08", "CO", "Colorado", "mountain", "America/Denver", 64),
    ("09", "CT", "Connecticut", "new_england", "America/New_York", 8),
    ("10", "DE", "Delaware", "south_atlantic", "America/New_York", 3),
    ("11", "DC", "District of Columbia", "south_atlantic", "America/New_York", 1),
    ("12", "FL", "Florida", "south_atlantic", "America/New_York", 67),
    ("13", "GA", "Georgia", "south_atlantic", "America/New_York", 159),
    ("16", "ID", "Idaho", "mountain", "America/Denver", 44),
    ("17", "IL", "Illinois", "east_north_central", "America/Chicago", 102),
    ("18", "IN", "Indiana", "east_north_central", "America/Indiana/Indianapolis", 92),
    ("19", "IA", "Iowa", "west_north_central", "America/Chicago", 99),
    ("20", "KS", "Kansas", "west_north_central", "America/Chicago", 105),
    ("21", "KY", "Kentucky", "east_south_central", "America/New_York", 120),
    ("22", "LA", "Louisiana", "west_south_central", "America/Chicago", 64),
    ("23", "ME", "Maine", "new_england", "America/New_York", 16),
    ("24", "MD", "Maryland", "south_atlantic", "America/New_York", 24),
    ("25", "MA", "Massachusetts", "new_england", "America/New_York", 14),
    ("26", "MI", "Michigan", "east_north_central", "America/Detroit", 83),
    ("27", "MN", "Minnesota", "west_north_central", "America/Chicago", 87),
    ("28", "MS", "Mississippi", "east_south_central", "America/Chicago", 82),
    ("29", "MO", "Missouri", "west_north_central", "America/Chicago", 115),
    ("30", "MT", "Montana", "mountain", "America/Denver", 56),
    ("31", "NE", "Nebraska", "west_north_central", "America/Chicago", 93),
    ("32", "NV", "Nevada", "mountain", "America/Los_Angeles", 17),
    ("33", "NH", "New Hampshire", "new_england", "America/New_York", 10),
    ("34", "NJ", "New Jersey", "middle_atlantic", "America/New_York", 21),
    ("35", "NM", "New Mexico", "mountain", "America/Denver", 33),
    ("36", "NY", "New York", "middle_atlantic", "America/New_York", 62),
    ("37", "NC", "North Carolina", "south_atlantic", "America/New_York", 100),
    ("38", "ND", "North Dakota", "west_north_central", "America/Chicago", 53),
    ("39", "OH", "Ohio", "east_north_central", "America/New_York", 88),
    ("40", "OK", "Oklahoma", "west_south_central", "America/Chicago", 77),
    ("41", "OR", "Oregon", "pacific", "America/Los_Angeles", 36),
    ("42", "PA", "Pennsylvania", "middle_atlantic", "America/New_York", 67),
    ("44", "RI", "Rhode Island", "new_england", "America/New_York", 5),
    ("45", "SC", "South Carolina", "south_atlantic", "America/New_York", 46),
    ("46", "SD", "South Dakota", "west_north_central", "America/Chicago", 66),
    ("47", "TN", "Tennessee", "east_south_central", "America/Chicago", 95),
    ("48", "TX", "Texas", "west_south_central", "America/Chicago", 254),
    ("49", "UT", "Utah", "mountain", "America/Denver", 29),
    ("50", "VT", "Vermont", "new_england", "America/New_York", 14),
    ("51", "VA", "Virginia", "south_atlantic", "America/New_York", 133),
    ("53", "WA", "Washington", "pacific", "America/Los_Angeles", 39),
    ("54", "WV", "West Virginia", "south_atlantic", "America/New_York", 55),
    ("55", "WI", "Wisconsin", "east_north_central", "America/Chicago", 72),
    ("56", "WY", "Wyoming", "mountain", "America/Denver", 23),
)

CENSUS_DIVISIONS: dict[str, tuple[str, str]] = {
    # id: (name, census region id)
    "new_england": ("New England", "northeast"),
    "middle_atlantic": ("Middle Atlantic", "northeast"),
    "east_north_central": ("East North Central", "midwest"),
    "west_north_central": ("West North Central", "midwest"),
    "south_atlantic": ("South Atlantic", "south"),
    "east_south_central": ("East South Central", "south"),
    "west_south_central": ("West South Central", "south"),
    "mountain": ("Mountain", "west"),
    "pacific": ("Pacific", "west"),
}

CENSUS_REGIONS: dict[str, str] = {
    "northeast": "Northeast",
    "midwest": "Midwest",
    "south": "South",
    "west": "West",
}

_COUNTY_STEMS = (
    "Washington", "Jefferson", "Franklin", "Lincoln", "Jackson", "Madison", "Clay", "Montgomery",
    "Union", "Marion", "Monroe", "Wayne", "Greene", "Warren", "Grant", "Polk", "Carroll",
    "Douglas", "Lake", "Clark", "Johnson", "Marshall", "Morgan", "Lee", "Benton", "Hamilton",
    "Scott", "Adams", "Calhoun", "Fayette", "Henry", "Logan", "Perry", "Putnam", "Shelby",
    "Boone", "Brown", "Butler", "Cass", "Crawford", "Dallas", "Decatur", "Fulton", "Hancock",
    "Harrison", "Howard", "Knox", "Lawrence", "Mercer", "Miller", "Mitchell", "Pike", "Randolph",
    "Sullivan", "Taylor", "Wilson", "Cedar", "Columbia", "Delaware", "Hardin", "Jasper",
    "Livingston", "Macon", "Meade", "Orange", "Richland", "Stone", "Sumner", "Wabash", "Wood",
)  # fmt: skip

MAX_COUNTIES = sum(s[5] for s in _STATES)


@dataclass(frozen=True)
class State:
    fips: str
    abbr: str
    name: str
    division: str
    time_zone: str

    @property
    def region(self) -> str:
        return CENSUS_DIVISIONS[self.division][1]


@dataclass(frozen=True)
class County:
    id: str
    name: str
    state: State


STATES: tuple[State, ...] = tuple(State(*s[:5]) for s in _STATES)


def counties(count: int) -> list[County]:
    """``count`` counties, spread over the states round-robin so that even a handful of
    counties covers several states, time zones and census regions. Ids are five-digit FIPS
    codes (state code + odd county code, as real FIPS county codes are)."""
    if not 1 <= count <= MAX_COUNTIES:
        raise ValueError(f"counties must be between 1 and {MAX_COUNTIES}")
    result: list[County] = []
    taken = [0] * len(STATES)
    while len(result) < count:
        for index, (state, spec) in enumerate(zip(STATES, _STATES, strict=True)):
            if taken[index] >= spec[5] or len(result) >= count:
                continue
            number = 2 * taken[index] + 1
            stem = _COUNTY_STEMS[(index * 7 + taken[index]) % len(_COUNTY_STEMS)]
            result.append(County(f"{state.fips}{number:03d}", f"{stem} County", state))
            taken[index] += 1
    return sorted(result, key=lambda c: c.id)
