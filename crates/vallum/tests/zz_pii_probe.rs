//! Temporary probe (not for commit).
use regex_automata::{Input, MatchKind, PatternSet, meta, util::syntax};
use std::time::Instant;

fn ascii(p: &str) -> String {
    p.replace(r"\b", r"(?-u:\b)")
}

#[test]
#[ignore]
fn probe() {
    let pack = vallum_rules::builtin_pack("pii").unwrap();
    let para = "The committee met on Tuesday to review the proposal for the new library wing. Members agreed that the design balances natural light with the needs of rare book storage, although several raised questions about the heating budget and the timeline for construction. After a long discussion about accessibility, the chair asked the architects to return with a revised plan that widens the entrance, adds a second lift and moves the reading room closer to the garden. Everyone thanked the volunteers who organised the public consultation, which drew more responses than any before it. ";
    let prose: String = para.repeat(4_000_000 / para.len());
    let chat_lines = ["user: hi, I'm Jane (jane.doe@example.org), call me on +44 20 7946 0958 or 07700 900123.\n",
        "assistant: Thanks Jane. Order #100234 shipped on 2024-01-15 at 10:30:00, tracking 1Z999AA10123456784.\n",
        "user: card 4111 1111 1111 1111 exp 12/27, IBAN DE89 3704 0044 0532 0130 00, SSN 536-22-1234.\n",
        "assistant: Server 203.0.113.42 (2001:db8::1) logged version 1.2.3 build 20240115, uuid 550e8400-e29b-41d4-a716-446655440000.\n",
        "user: my US number is (212) 555-0123, office 030 12345678, DOB: 04/12/1987, I live at 221B Baker Street.\n",
        "assistant: Noted. The total is $1,234.56 for 3 items; invoice INV-2024-00042 due 05.06.2024.\n"];
    let chat: String = chat_lines.concat().repeat(1_000_000 / 600);
    let mut ungated = Vec::new();
    for r in &pack.rules {
        let ci = if r.case_insensitive { "(?i)" } else { "" };
        let p = format!("{ci}{}", ascii(&r.pattern));
        let re = meta::Regex::builder().syntax(syntax::Config::new().multi_line(true)).build(&p).unwrap();
        for (name, hay) in [("prose", &prose), ("chat", &chat)] {
            let t = Instant::now();
            let n = re.find_iter(hay.as_str()).count();
            let mbs = hay.len() as f64 / t.elapsed().as_secs_f64() / 1e6;
            print!("{:28} {name} {mbs:8.0} MB/s {n:6} | ", r.id);
        }
        println!();
        if r.keywords.is_empty() { ungated.push(p); }
    }
    let digit_led: Vec<String> = ungated.iter().filter(|p| {
        let q = p.trim_start_matches("(?-u:\\b)");
        q.starts_with("[0-9]") || q.starts_with("\\+") || q.starts_with("[1-9]") || q.starts_with("[2-9]") || q.starts_with("9") || q.starts_with("[1-478]")|| q.starts_with("[13]")
    }).cloned().collect();
    println!("digit-led: {}", digit_led.len());
    for (pi, pats) in [&digit_led, &digit_led].into_iter().enumerate() {
        let lits: Vec<String> = (0..10).map(|d| d.to_string()).chain(["+".to_string(), "(".to_string()]).collect();
        let pre = if pi == 1 { regex_automata::util::prefilter::Prefilter::new(MatchKind::All, &lits) } else { None };
        println!("explicit prefilter: {}", pre.is_some());
        let set = meta::Regex::builder().syntax(syntax::Config::new().multi_line(true))
            .configure(meta::Config::new().match_kind(MatchKind::All).prefilter(pre).hybrid_cache_capacity(4<<20)
                .nfa_size_limit(Some(32<<20)).dfa_size_limit(Some(32<<20)))
            .build_many(pats).unwrap();
        for (name, hay) in [("prose", &prose), ("chat", &chat)] {
            let mut ps = PatternSet::new(pats.len());
            let t = Instant::now();
            set.which_overlapping_matches(&Input::new(hay.as_str()), &mut ps);
            let mbs = hay.len() as f64 / t.elapsed().as_secs_f64() / 1e6;
            println!("DIGITSET of {} {name}: {mbs:.0} MB/s, {} patterns hit", pats.len(), ps.len());
        }
    }
    for p in &ungated { println!("U {}", &p[..p.len().min(60)]); }
    let set = meta::Regex::builder().syntax(syntax::Config::new().multi_line(true))
        .configure(meta::Config::new().match_kind(MatchKind::All).hybrid_cache_capacity(4<<20)
            .nfa_size_limit(Some(32<<20)).dfa_size_limit(Some(32<<20)))
        .build_many(&ungated).unwrap();
    for (name, hay) in [("prose", &prose), ("chat", &chat)] {
        let mut ps = PatternSet::new(ungated.len());
        let t = Instant::now();
        set.which_overlapping_matches(&Input::new(hay.as_str()), &mut ps);
        let mbs = hay.len() as f64 / t.elapsed().as_secs_f64() / 1e6;
        println!("SET of {} {name}: {mbs:.0} MB/s, {} patterns hit", ungated.len(), ps.len());
    }
}
