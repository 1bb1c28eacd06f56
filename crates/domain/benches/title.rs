//! `TaskTitle::parse`, run on every task created or renamed.
//!
//! `cargo bench -p todo-domain --bench title`. Not a test: nothing here asserts on time.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use todo_domain::{DomainError, InvalidReason, TaskTitle};

fn title_parsing(c: &mut Criterion) {
    let typical = "Buy milk and bread on the way home";

    // 198 characters, most of them multi-byte, between white space the parser trims.
    let mut body: String = "Zażółć gęślą jaźń · 買い物リストを確認する · ✓ "
        .chars()
        .cycle()
        .take(TaskTitle::MAX_CHARS - 3)
        .collect();
    body.push('✓');
    let long_unicode = format!(" \t {body} \n ");

    // One character over the limit: refused after counting the whole title.
    let too_long = "é".repeat(TaskTitle::MAX_CHARS + 1);

    // Each case does what it is named for before it is timed.
    assert_eq!(
        TaskTitle::parse(typical).expect("typical title").as_str(),
        typical
    );
    let parsed = TaskTitle::parse(&long_unicode).expect("long Unicode title");
    assert_eq!(parsed.as_str(), body);
    assert_eq!(parsed.as_str().chars().count(), TaskTitle::MAX_CHARS - 2);
    assert!(body.len() > 350, "mostly multi-byte: {} bytes", body.len());
    assert!(matches!(
        TaskTitle::parse(&too_long),
        Err(DomainError::Invalid {
            field: "title",
            reason: InvalidReason::TooLong { .. },
        })
    ));

    let mut group = c.benchmark_group("task_title_parse");
    group.bench_function("typical_ascii", |b| {
        b.iter(|| TaskTitle::parse(black_box(typical)));
    });
    group.bench_function("long_unicode_padded", |b| {
        b.iter(|| TaskTitle::parse(black_box(&long_unicode)));
    });
    group.bench_function("rejected_too_long", |b| {
        b.iter(|| TaskTitle::parse(black_box(&too_long)));
    });
    group.finish();
}

criterion_group!(benches, title_parsing);
criterion_main!(benches);
