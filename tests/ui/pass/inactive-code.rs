// Code the macro passes through unchanged because no derivative flows
// through it: loops over constants, printing, unknown functions of constants,
// closures, `match` and `if let` on constants, indexing by constants.
use sgrad::differentiable;

fn weight(k: usize) -> f64 {
    1.0 / (k as f64 + 1.0)
}

macro_rules! twice {
    ($e:expr) => {
        2.0 * $e
    };
}

#[differentiable(x)]
fn f(x: f64, n: usize, table: [f64; 3], label: Option<&str>) -> f64 {
    // A `for` loop over constants.
    let mut total = 0.0;
    for k in 0..n {
        total += weight(k);
    }
    // Printing an active value.
    println!("x = {x}, x^2 = {}", x * x);
    // An unknown function with constant arguments.
    let w = weight(n);
    // A closure that captures nothing active.
    let shift = |t: f64| t + 1.0;
    let s = shift(total);
    // `match` and `if let` on constants, indexing by a constant.
    let m = match n {
        0 => 1.0,
        _ => table[1],
    };
    let l = if let Some(text) = label {
        text.len() as f64
    } else {
        0.0
    };
    // A user macro on constants.
    let d = twice!(w);
    x * x * total + x * s * m + l + d
}

fn main() {
    let table = [1.0, 2.0, 3.0];
    let (v, dx) = f_grad(2.0, 3, table, Some("ab"));
    assert_eq!(v, f(2.0, 3, table, Some("ab")));
    let total = 1.0 + 0.5 + 1.0 / 3.0;
    let expected = 2.0 * 2.0 * total + (total + 1.0) * 2.0;
    assert!((dx - expected).abs() < 1e-12, "{dx} vs {expected}");
}
