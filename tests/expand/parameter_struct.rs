#[differentiable(net)]
fn predict(net: &Mlp, x: &[f64]) -> f64 {
    let mut out = net.b2;
    for j in 0..net.w2.len() {
        let mut a = net.b1[j];
        for i in 0..x.len() {
            a += net.w1[j][i] * x[i];
        }
        out += net.w2[j] * a.tanh();
    }
    out
}
