use sgrad::differentiable;

#[differentiable(x)]
fn f(x: f64, table: [f64; 4]) -> f64 {
    table[x as usize] * x
}

fn main() {
    let _ = f(1.0, [1.0, 2.0, 3.0, 4.0]);
}
