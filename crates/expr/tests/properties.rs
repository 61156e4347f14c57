//! Properties of the parser: it never panics on any input, and printing a tree then parsing
//! the text gives the same tree back.

use proptest::prelude::*;
use socle_expr::{CmpOp, DateMacro, Expr, Literal, Modifier, Operand, Path, Root, Span, parse};

fn operand() -> impl Strategy<Value = Operand> {
    let name = "[a-z_][a-z0-9_]{0,8}";
    prop_oneof![
        "[ -~]{0,12}".prop_map(|s| Operand::Literal(Literal::Str(s), Span::default())),
        (-1_000_000i64..1_000_000).prop_map(|n| Operand::Literal(Literal::Num(n as f64 / 4.0), Span::default())),
        any::<bool>().prop_map(|b| Operand::Literal(Literal::Bool(b), Span::default())),
        Just(Operand::Literal(Literal::Null, Span::default())),
        prop::sample::select(DateMacro::ALL.to_vec()).prop_map(|(_, m)| Operand::Macro(m, Span::default())),
        (
            prop_oneof![
                Just(Root::Record),
                Just(Root::RequestAuth),
                Just(Root::RequestBody),
                name.prop_map(Root::Collection)
            ],
            prop::collection::vec(name, 1..4),
            prop::option::of(prop::sample::select(vec![Modifier::Length, Modifier::Each, Modifier::Lower])),
        )
            .prop_filter("true/false/null are literals", |(root, segs, m)| {
                !(*root == Root::Record
                    && segs.len() == 1
                    && m.is_none()
                    && ["true", "false", "null"].contains(&segs[0].as_str()))
            })
            .prop_map(|(root, segments, modifier)| Operand::Field(Path { root, segments, modifier }, Span::default())),
    ]
}

fn op() -> impl Strategy<Value = CmpOp> {
    prop::sample::select(vec![
        CmpOp::Eq,
        CmpOp::Neq,
        CmpOp::Gt,
        CmpOp::Gte,
        CmpOp::Lt,
        CmpOp::Lte,
        CmpOp::Like,
        CmpOp::NotLike,
    ])
}

fn expr() -> impl Strategy<Value = Expr> {
    let leaf = (operand(), op(), any::<bool>(), operand()).prop_map(|(left, op, any, right)| Expr::Compare {
        left,
        op,
        any,
        right,
        span: Span::default(),
    });
    leaf.prop_recursive(5, 40, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner).prop_map(|(a, b)| Expr::Or(Box::new(a), Box::new(b))),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn never_panics_on_arbitrary_text(text in "\\PC{0,200}") {
        let _ = parse(&text);
    }

    #[test]
    fn never_panics_on_filter_like_text(text in "[a-z@._:'\"()&|!=<>~?% 0-9-]{0,120}") {
        let _ = parse(&text);
    }

    #[test]
    fn printing_then_parsing_is_the_identity(tree in expr()) {
        let text = tree.to_string();
        let reparsed = parse(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert_eq!(reparsed.without_spans(), tree, "{}", text);
    }
}
