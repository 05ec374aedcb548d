use sgrad::differentiable;

#[differentiable(x)]
fn f(x: f64, m: &[Vec<f64>], k: usize) -> f64 {
    let mut s = 0.0;
    'outer: for j in 0..m.len() {
        for t in m[j].iter().map(|v| v * 2.0) {
            if t > 0.5 {
                continue 'outer;
            }
        }
        for _ in 0..2 {
            match k {
                0 => break,
                _ => {}
            }
            s += x;
        }
    }
    s
}

fn main() {}
