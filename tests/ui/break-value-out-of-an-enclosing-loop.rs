use sgrad::differentiable;

#[differentiable(x)]
fn f(x: f64) -> f64 {
    let mut s = x;
    let r = 'outer: loop {
        loop {
            s *= 2.0;
            if s > 10.0 {
                break 'outer s;
            }
        }
    };
    r + 1.0
}

fn main() {
    let _ = f(1.0);
}
