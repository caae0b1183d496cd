//! Edge-list conversion: parsing rules, mapping rules, validity of every line.

mod common;

use std::io::{self, BufRead, BufReader, Read};

use rhiz_datasets::{
    map_identifier, DatasetError, EdgeListReader, EdgeOptions, IngestionLine, LineError, Scale,
};
use rhiz_protocol::{EventKind, RecordKey, Tid};
use serde_json::Value;

fn read(input: &str, scale: Scale) -> Vec<Result<IngestionLine, LineError>> {
    EdgeListReader::new(input.as_bytes(), EdgeOptions::new(scale))
        .unwrap()
        .collect()
}

fn ok_lines(input: &str, scale: Scale) -> Vec<Value> {
    read(input, scale)
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| panic!("{e}")).to_json())
        .collect()
}

fn errors(input: &str, scale: Scale) -> Vec<(u64, String)> {
    read(input, scale)
        .into_iter()
        .filter_map(Result::err)
        .map(|e| (e.line, e.error.to_string()))
        .collect()
}

fn sample(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn every_line_of_the_samples_reparses_through_rhiz_protocol() {
    for (name, scale) in [
        ("bitcoin_otc_sample.csv", Scale::Rating),
        ("edges_mixed.csv", Scale::Rating),
    ] {
        for line in read(&sample(name), scale).into_iter().flatten() {
            let text = line.to_line();
            let event =
                common::validate_line(&text).unwrap_or_else(|e| panic!("{name}: {e}\n{text}"));
            assert_eq!(&event, line.event());
        }
    }
}

#[test]
fn mixed_sample_reports_each_bad_line_and_keeps_going() {
    let results = read(&sample("edges_mixed.csv"), Scale::Rating);
    let errors: Vec<(u64, String)> = results
        .iter()
        .filter_map(|r| r.as_ref().err())
        .map(|e| (e.line, e.error.to_string()))
        .collect();
    let expected: &[(u64, &str)] = &[
        (7, "self-loop: source and target are both did:plc:"),
        (8, "weight \"lots\" is not a finite number"),
        (9, "weight 11 is outside the rating range -10 to 10"),
        (10, "a quoted field is not closed on its line"),
        (12, "field target is empty"),
    ];
    assert_eq!(errors.len(), expected.len(), "{errors:?}");
    for ((line, message), (want_line, want)) in errors.iter().zip(expected) {
        assert_eq!(line, want_line);
        assert!(message.starts_with(want), "line {line}: {message}");
    }
    let lines: Vec<Value> = results.into_iter().flatten().map(|l| l.to_json()).collect();
    let summary: Vec<(&str, &str, u64)> = lines
        .iter()
        .map(|l| {
            (
                l["event_type"].as_str().unwrap(),
                l["payload"]["type"].as_str().unwrap(),
                l["payload"]["strength"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("relationship.created", "transactional", 80),
            ("relationship.created", "transactional", 25),
            ("relationship.created", "distrust", 30),
            ("relationship.updated", "transactional", 90),
        ]
    );
    // The quoted identifier with a comma is one identifier.
    assert_eq!(
        lines[1]["did"].as_str().unwrap(),
        map_identifier("carol, the second").as_str()
    );
    // A DID stays; other identifiers are mapped.
    assert_eq!(lines[2]["did"], "did:plc:eygmaihciaxprqvxpfvl6flk");
    assert_eq!(
        lines[0]["did"].as_str().unwrap(),
        map_identifier("alice").as_str()
    );
    // The update keeps the URI and createdAt of the first occurrence.
    assert_eq!(lines[3]["payload"]["uri"], lines[0]["payload"]["uri"]);
    assert_ne!(lines[3]["payload"]["cid"], lines[0]["payload"]["cid"]);
    assert_eq!(
        lines[3]["payload"]["created_at"],
        lines[0]["payload"]["created_at"]
    );
    let history = &lines[3]["payload"]["record"]["temporal"]["history"];
    assert_eq!(history[0]["strength"], 80);
    assert_eq!(history[1]["strength"], 90);
    assert!(lines[0]["payload"]["record"]["temporal"]
        .get("history")
        .is_none());
}

#[test]
fn header_detection_only_looks_at_the_first_data_line() {
    let lines = ok_lines("# c\nSOURCE,TARGET,RATING,TIME\na,b,1,5\n", Scale::Rating);
    assert_eq!(lines.len(), 1);
    let input = "a,b,1\nsource,target,weight\n";
    assert_eq!(
        errors(input, Scale::Rating),
        [(2, "weight \"weight\" is not a finite number".to_owned())]
    );
    // A first line whose weight is a number is data.
    assert_eq!(ok_lines("a,b,1\n", Scale::Rating).len(), 1);
}

#[test]
fn weight_mapping_table() {
    let cases: &[(Scale, &str, &str, u64)] = &[
        (Scale::Rating, "10", "transactional", 100),
        (Scale::Rating, "1", "transactional", 10),
        (Scale::Rating, "0.45", "transactional", 5),
        (Scale::Rating, "0", "transactional", 0),
        (Scale::Rating, "-0", "transactional", 0),
        (Scale::Rating, "-1", "distrust", 10),
        (Scale::Rating, "-7.5", "distrust", 75),
        (Scale::Rating, "-10", "distrust", 100),
        (Scale::Percent, "0", "transactional", 0),
        (Scale::Percent, "55.5", "transactional", 56),
        (Scale::Percent, "100", "transactional", 100),
    ];
    for &(scale, weight, kind, strength) in cases {
        let lines = ok_lines(&format!("a,b,{weight}\n"), scale);
        let p = &lines[0]["payload"];
        assert_eq!(
            (p["type"].as_str().unwrap(), p["strength"].as_u64().unwrap()),
            (kind, strength),
            "{scale} {weight}"
        );
        assert_eq!(lines[0]["did"].as_str(), Some(map_identifier("a").as_str()));
    }
}

#[test]
fn bad_lines_name_the_rule() {
    let cases: &[(&str, Scale, &str)] = &[
        (
            "a,b",
            Scale::Rating,
            "expected 3 or 4 comma-separated fields (source,target,weight[,time]), got 2",
        ),
        ("a,b,1,2,3", Scale::Rating, "got 5"),
        (",b,1", Scale::Rating, "field source is empty"),
        ("a,b,", Scale::Rating, "field weight is empty"),
        ("a,b,1,", Scale::Rating, "field time is empty"),
        (
            "a,b,NaN",
            Scale::Rating,
            "weight \"NaN\" is not a finite number",
        ),
        (
            "a,b,inf",
            Scale::Rating,
            "weight \"inf\" is not a finite number",
        ),
        (
            "a,b,10.01",
            Scale::Rating,
            "weight 10.01 is outside the rating range -10 to 10",
        ),
        (
            "a,b,-11",
            Scale::Rating,
            "weight -11 is outside the rating range -10 to 10",
        ),
        (
            "a,b,-1",
            Scale::Percent,
            "weight -1 is outside the percent range 0 to 100",
        ),
        (
            "a,b,101",
            Scale::Percent,
            "weight 101 is outside the percent range 0 to 100",
        ),
        (
            "a,b,1,yesterday",
            Scale::Rating,
            "time \"yesterday\" must be Unix seconds",
        ),
        (
            "a,b,1,-5",
            Scale::Rating,
            "time \"-5\" must be Unix seconds",
        ),
        (
            "a,b,1,1e12",
            Scale::Rating,
            "time \"1e12\" must be Unix seconds",
        ),
        (
            "x,x,1",
            Scale::Rating,
            "self-loop: source and target are both did:plc:",
        ),
        (
            "did:plc:eygmaihciaxprqvxpfvl6flk,did:plc:eygmaihciaxprqvxpfvl6flk,1",
            Scale::Rating,
            "self-loop",
        ),
        (
            "\"a\"b,c,1",
            Scale::Rating,
            "only spaces may follow the closing quote",
        ),
    ];
    for &(line, scale, rule) in cases {
        // A good first line keeps header detection out of the way.
        let input = format!("p,q,1\n{line}\n");
        let errs = errors(&input, scale);
        assert_eq!(errs.len(), 1, "{line:?}: {errs:?}");
        assert_eq!(errs[0].0, 2);
        assert!(errs[0].1.contains(rule), "{line:?}: {}", errs[0].1);
    }
}

#[test]
fn non_utf8_lines_are_reported_and_skipped() {
    let input: &[u8] = b"a,b,1\n\xff\xfe,b,1\nc,d,2\n";
    let results: Vec<_> = EdgeListReader::new(input, EdgeOptions::new(Scale::Rating))
        .unwrap()
        .collect();
    assert_eq!(results.len(), 3);
    let err = results[1].as_ref().unwrap_err();
    assert_eq!(err.line, 2);
    assert!(matches!(err.error, DatasetError::NotUtf8));
    assert!(results[2].is_ok());
}

#[test]
fn time_column_sets_created_at_and_the_tid() {
    let lines = ok_lines(
        "6,2,4,1289241911.72836\n6,5,-2,1289241911.72899\n",
        Scale::Rating,
    );
    let p = &lines[0]["payload"];
    assert_eq!(p["created_at"], "2010-11-08T18:45:11.728Z");
    assert_eq!(p["record"]["temporal"]["start"], "2010-11-08T18:45:11.728Z");
    let rkey = |l: &Value| -> Tid {
        let uri = l["payload"]["uri"].as_str().unwrap();
        uri.rsplit('/').next().unwrap().parse().unwrap()
    };
    let (first, second) = (rkey(&lines[0]), rkey(&lines[1]));
    assert_eq!(first.timestamp_micros(), 1_289_241_911_728_000 + 1);
    assert_eq!(first.clock_id(), 0);
    // Same source, same millisecond: still two keys.
    assert_eq!(second.timestamp_micros(), 1_289_241_911_728_000 + 2);
    assert_ne!(first, second);
}

#[test]
fn without_time_the_instant_is_base_time_plus_line_milliseconds() {
    let lines = ok_lines("# header comment\na,b,1\n", Scale::Rating);
    assert_eq!(
        lines[0]["payload"]["created_at"],
        "2024-01-01T00:00:00.002Z"
    );
    let uri = lines[0]["payload"]["uri"].as_str().unwrap();
    let rkey: RecordKey = uri.rsplit('/').next().unwrap().parse().unwrap();
    assert_eq!(
        rkey,
        RecordKey::from(Tid::from_parts(1_704_067_200_002_000, 0))
    );
}

#[test]
fn negative_ratings_become_distrust_from_the_source() {
    let lines = ok_lines(&sample("bitcoin_otc_sample.csv"), Scale::Rating);
    assert_eq!(lines.len(), 12);
    let distrust: Vec<&Value> = lines
        .iter()
        .filter(|l| l["payload"]["type"] == "distrust")
        .collect();
    assert_eq!(distrust.len(), 2);
    for l in distrust {
        let participants = l["payload"]["participants"].as_array().unwrap();
        assert_eq!(participants[0], l["did"]);
        assert!(l["payload"]["uri"]
            .as_str()
            .unwrap()
            .starts_with(&format!("at://{}/", l["did"].as_str().unwrap())));
    }
    let strengths: Vec<u64> = lines
        .iter()
        .map(|l| l["payload"]["strength"].as_u64().unwrap())
        .collect();
    assert_eq!(strengths, [40, 20, 10, 70, 80, 80, 10, 50, 50, 50, 100, 0]);
    // 2→21 and 21→2 are two relationships, by two authors.
    assert_ne!(lines[7]["payload"]["uri"], lines[8]["payload"]["uri"]);
    assert!(lines
        .iter()
        .all(|l| l["event_type"] == "relationship.created"));
}

#[test]
fn conversion_is_deterministic_and_event_ids_are_unique() {
    let text = sample("bitcoin_otc_sample.csv");
    let a: Vec<String> = read(&text, Scale::Rating)
        .into_iter()
        .map(|l| l.unwrap().to_line())
        .collect();
    let b: Vec<String> = read(&text, Scale::Rating)
        .into_iter()
        .map(|l| l.unwrap().to_line())
        .collect();
    assert_eq!(a, b);
    let ids: std::collections::HashSet<String> = read(&text, Scale::Rating)
        .into_iter()
        .map(|l| l.unwrap().event().id().as_str().to_owned())
        .collect();
    assert_eq!(ids.len(), a.len());
    assert!(ids
        .iter()
        .all(|id| id.starts_with("edge-") && id.len() == 37));
}

#[test]
fn kinds_are_relationship_events() {
    for line in read(&sample("edges_mixed.csv"), Scale::Rating)
        .into_iter()
        .flatten()
    {
        assert!(matches!(
            line.event().kind(),
            EventKind::RelationshipCreated | EventKind::RelationshipUpdated
        ));
    }
}

#[test]
fn options_are_checked() {
    let mut options = EdgeOptions::new(Scale::Percent);
    options.context = "x".repeat(501);
    let err = EdgeListReader::new(&b""[..], options).unwrap_err();
    assert!(err.to_string().contains("context"), "{err}");
    assert!(matches!(
        "stars".parse::<Scale>(),
        Err(DatasetError::InvalidSetting { field: "scale", .. })
    ));
    assert_eq!("percent".parse::<Scale>().unwrap(), Scale::Percent);
}

/// A reader that fails after its first line.
struct FailingReader(bool);

impl Read for FailingReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if std::mem::replace(&mut self.0, true) {
            Err(io::Error::other("disk on fire"))
        } else {
            let line = b"a,b,1\n";
            buf[..line.len()].copy_from_slice(line);
            Ok(line.len())
        }
    }
}

#[test]
fn an_io_error_is_reported_once_and_ends_the_file() {
    let input: Box<dyn BufRead> = Box::new(BufReader::new(FailingReader(false)));
    let results: Vec<_> = EdgeListReader::new(input, EdgeOptions::new(Scale::Rating))
        .unwrap()
        .collect();
    assert_eq!(results.len(), 2);
    let err = results[1].as_ref().unwrap_err();
    assert!(matches!(err.error, DatasetError::Io(_)), "{err}");
    assert!(err.to_string().contains("disk on fire"));
}

#[test]
fn a_broken_first_line_does_not_make_the_second_a_header() {
    let errs = errors("\"a,b,1\nsource,target,weight\n", Scale::Rating);
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert_eq!(errs[1].0, 2);
}
