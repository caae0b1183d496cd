//! Word lists for names, bios, contexts and evidence.

/// Given names.
pub(super) const FIRST: &[&str] = &[
    "Ada", "Amara", "Aiko", "Bruno", "Chen", "Dara", "Elif", "Emeka", "Farah", "Goran", "Hana",
    "Ines", "Ivan", "Jonas", "Kavya", "Kofi", "Lena", "Luis", "Mei", "Mateo", "Nadia", "Nils",
    "Omar", "Priya", "Quinn", "Rosa", "Sami", "Sofia", "Tariq", "Uma", "Vera", "Wei", "Yara",
    "Yusuf", "Zoe", "Zainab",
];

/// Family names.
pub(super) const LAST: &[&str] = &[
    "Okafor",
    "Lindqvist",
    "Tanaka",
    "Moreau",
    "Haddad",
    "Kowalski",
    "Nguyen",
    "Silva",
    "Petrov",
    "Mensah",
    "Fischer",
    "Rossi",
    "Sato",
    "Novak",
    "Garcia",
    "Ibrahim",
    "Kim",
    "Larsen",
    "Mehta",
    "Osei",
    "Papadopoulos",
    "Quispe",
    "Rahman",
    "Schmidt",
    "Torres",
    "Urquhart",
    "Varga",
    "Wójcik",
    "Xu",
    "Yilmaz",
    "Zhou",
];

/// First words of community names.
pub(super) const COMMUNITY_ADJ: &[&str] = &[
    "Northwind",
    "Blue River",
    "Open Field",
    "Copper Hill",
    "Lantern",
    "Harbor",
    "Evergreen",
    "Granite",
    "Meridian",
    "Saltmarsh",
    "Juniper",
    "Red Oak",
    "Silverline",
    "Tidewater",
];

/// Second words of community names.
pub(super) const COMMUNITY_NOUN: &[&str] = &[
    "Guild",
    "Collective",
    "Labs",
    "Cooperative",
    "Institute",
    "Studio",
    "Network",
    "Commons",
    "Society",
    "Works",
];

/// Roles, for bios.
pub(super) const ROLES: &[&str] = &[
    "Engineer",
    "Researcher",
    "Organizer",
    "Designer",
    "Teacher",
    "Founder",
    "Nurse",
    "Journalist",
    "Analyst",
    "Gardener",
    "Developer",
    "Translator",
];

/// Organization name suffixes.
pub(super) const ORG_SUFFIX: &[&str] = &["Foundation", "Partners", "Trust", "Alliance", "Group"];

/// Evidence texts for attestations, by attestation type.
pub(super) const EVIDENCE_VERIFY: &[&str] = &[
    "Worked with both of them on the same team.",
    "I introduced them and have seen them collaborate since.",
    "We meet regularly; their relationship is real.",
    "Saw them present a joint project.",
];

/// Evidence texts for strengthen attestations.
pub(super) const EVIDENCE_STRENGTHEN: &[&str] = &[
    "They rely on each other more than this record says.",
    "Their collaboration has deepened over the last year.",
];

/// Evidence texts for weaken attestations.
pub(super) const EVIDENCE_WEAKEN: &[&str] = &[
    "They have not worked together for a long time.",
    "This overstates how well they know each other.",
];

/// Evidence texts for dispute attestations.
pub(super) const EVIDENCE_DISPUTE: &[&str] = &[
    "I know both; they have never met.",
    "This relationship looks fabricated.",
];

/// The name of community `c`: unique for every index.
pub(super) fn community_name(c: usize) -> String {
    let adj = COMMUNITY_ADJ[c % COMMUNITY_ADJ.len()];
    let noun = COMMUNITY_NOUN[(c / COMMUNITY_ADJ.len()) % COMMUNITY_NOUN.len()];
    let round = c / (COMMUNITY_ADJ.len() * COMMUNITY_NOUN.len());
    if round == 0 {
        format!("{adj} {noun}")
    } else {
        format!("{adj} {noun} {}", round + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn community_names_are_unique() {
        let names: HashSet<String> = (0..1000).map(community_name).collect();
        assert_eq!(names.len(), 1000);
        assert_eq!(community_name(0), "Northwind Guild");
    }
}
