use sgrad::differentiable;

#[differentiable(x)]
fn f(x: f64) {
    println!("{}", x * 2.0);
}

fn main() {
    f(1.0);
}
