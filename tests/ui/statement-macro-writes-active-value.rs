use sgrad::differentiable;

macro_rules! double_in_place {
    ($v:ident) => {
        $v = 2.0 * $v;
    };
}

#[differentiable(x)]
fn f(x: f64) -> f64 {
    let mut y = x;
    double_in_place!(y);
    y
}

fn main() {
    let _ = f(1.0);
}
