// `recompute`: the tape holds the carried `y` only; `f` and its `exp` are
// computed again in the backward sweep.
#[differentiable(k; recompute)]
fn decay(k: f64, y0: f64, n: usize) -> f64 {
    let mut y = y0;
    let dt = 0.01;
    for _ in 0..n {
        let f = -k * y * y.sin().exp();
        y = y + dt * f;
    }
    y
}
