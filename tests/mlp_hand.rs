//! The `mlp` benchmark's hand-written backpropagation against central
//! differences, and every generated formulation (struct fields, a method per
//! sample, `iter().zip()`, flat slices) against it.

#[path = "../benches/networks/mod.rs"]
mod networks;

use networks::*;
use sgrad::Differentiable;

fn close(a: &[f64], b: &[f64], what: &str) {
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= 1e-9 * (1.0 + x.abs()),
            "{what}[{i}]: {x} vs {y}"
        );
    }
}

#[test]
fn hand_gradient_against_differences() {
    let (net, xs, ys) = setup(3, 5, 7);
    let (v, g) = loss_by_hand(&net, &xs, &ys);
    assert!((v - loss_struct(&net, &xs, &ys)).abs() < 1e-14);
    let n = net.num_params();
    for k in 0..n {
        let shifted = |d: f64| {
            let mut q = net.clone();
            let mut i = 0;
            q.map_params(&mut |p| {
                i += 1;
                if i - 1 == k {
                    p + d
                } else {
                    p
                }
            });
            loss_struct(&q, &xs, &ys)
        };
        let fd = (shifted(1e-6) - shifted(-1e-6)) / 2e-6;
        let a = g.params()[k];
        assert!((a - fd).abs() < 1e-7 * (1.0 + fd.abs()), "{k}: {a} vs {fd}");
    }
}

#[test]
fn every_formulation_matches_the_hand_gradient() {
    let (net, xs, ys) = setup(4, 6, 9);
    let (_, hand) = loss_by_hand(&net, &xs, &ys);
    let hand = hand.params();
    close(
        &loss_struct_grad(&net, &xs, &ys).1.params(),
        &hand,
        "struct",
    );
    close(
        &loss_method_grad(&net, &xs, &ys).1.params(),
        &hand,
        "method",
    );
    close(&loss_zip_grad(&net, &xs, &ys).1.params(), &hand, "zip");
    close(
        &loss_layer_grad(&net, &xs, &ys).1.params(),
        &hand,
        "layer helper",
    );
    let flat = net.w1.concat();
    let (_, (w1, b1, w2, b2)) = loss_flat_grad(&flat, &net.b1, &net.w2, net.b2, &xs, &ys);
    let as_struct = Mlp {
        w1: w1.chunks(4).map(<[f64]>::to_vec).collect(),
        b1,
        w2,
        b2,
    };
    close(&as_struct.params(), &hand, "flat");
}
