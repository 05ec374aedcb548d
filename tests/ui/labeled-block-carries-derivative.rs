use sgrad::differentiable;

#[differentiable(x)]
fn f(x: f64) -> f64 {
    let y = 'done: {
        if x > 1.0 {
            break 'done x;
        }
        2.0 * x
    };
    y + 1.0
}

fn main() {
    let _ = f(1.0);
}
