//! A tiny VQ-VAE (van den Oord et al. 2017, "Neural Discrete Representation
//! Learning"): 2-D data in five clusters, a linear encoder and decoder, and a
//! codebook of K = 8 vectors, trained by SGD on the paper's loss
//!
//! ```text
//! z_e = A x + c,   k = argmin_j ‖z_e − e_j‖,   z_q = e_k
//! L = ‖x − dec(z_e + sg[z_q − z_e])‖² + ‖sg[z_e] − e_k‖² + β ‖z_e − sg[e_k]‖²
//! ```
//!
//! The straight-through term carries the reconstruction gradient to the
//! encoder, the codebook term moves only e_k, the commitment term only z_e.
//! `cargo run --release --example vq_quantizer`

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::Normal;
use sgrad::{differentiable, sg};

const K: usize = 8;
const BETA: f64 = 0.25;
const CENTRES: [[f64; 2]; 5] = [
    [2.0, 0.0],
    [-1.0, 1.5],
    [-1.0, -1.5],
    [0.5, 3.0],
    [3.0, -2.5],
];
const SPREAD: f64 = 0.15;

/// One sample of L. `enc` and `dec` are `[A (row-major 2×2), c]`; the
/// nearest code is found from stopped distances.
#[differentiable(enc, dec, codebook)]
#[allow(clippy::needless_range_loop)] // sgrad differentiates indexed loops
fn vq_loss(enc: &[f64], dec: &[f64], codebook: &[Vec<f64>], x: &[f64]) -> f64 {
    let mut z_e = [0.0; 2];
    for i in 0..2 {
        z_e[i] = enc[2 * i] * x[0] + enc[2 * i + 1] * x[1] + enc[4 + i];
    }
    let mut k = 0;
    let mut best = f64::INFINITY;
    for j in 0..codebook.len() {
        let mut d = 0.0;
        for i in 0..2 {
            let t = sg(z_e[i] - codebook[j][i]);
            d += t * t;
        }
        if d < best {
            best = d;
            k = j;
        }
    }
    let mut z_q_st = [0.0; 2];
    for i in 0..2 {
        z_q_st[i] = z_e[i] + sg(codebook[k][i] - z_e[i]);
    }
    let mut loss = 0.0;
    for i in 0..2 {
        let x_hat = dec[2 * i] * z_q_st[0] + dec[2 * i + 1] * z_q_st[1] + dec[4 + i];
        let r = x[i] - x_hat;
        let c = sg(z_e[i]) - codebook[k][i];
        let m = z_e[i] - sg(codebook[k][i]);
        loss += r * r + c * c + BETA * m * m;
    }
    loss
}

/// The encoder and the argmin again, in plain Rust, for the statistics.
fn code_of(enc: &[f64], codebook: &[Vec<f64>], x: &[f64]) -> usize {
    let z = [
        enc[0] * x[0] + enc[1] * x[1] + enc[4],
        enc[2] * x[0] + enc[3] * x[1] + enc[5],
    ];
    let dist = |e: &Vec<f64>| (z[0] - e[0]).powi(2) + (z[1] - e[1]).powi(2);
    (0..codebook.len())
        .min_by(|&a, &b| dist(&codebook[a]).total_cmp(&dist(&codebook[b])))
        .unwrap()
}

fn main() {
    let mut rng = StdRng::seed_from_u64(0x5eed_0005_0ead_2017); // reproducible runs
    let cluster = Normal::new(0.0, SPREAD).unwrap();
    let data: Vec<[f64; 2]> = (0..2000)
        .map(|_| {
            let c = CENTRES[rng.random_range(0..CENTRES.len())];
            c.map(|ci| ci + rng.sample(cluster))
        })
        .collect();

    // Encoder and decoder start near the identity; the codebook near 0.
    let mut enc = vec![1.0, 0.0, 0.0, 1.0, 0.0, 0.0];
    let mut dec = vec![1.0, 0.0, 0.0, 1.0, 0.0, 0.0];
    let near_zero = Normal::new(0.0, 0.5).unwrap();
    let mut codebook: Vec<Vec<f64>> = (0..K)
        .map(|_| (0..2).map(|_| rng.sample(near_zero)).collect())
        .collect();
    let jitter = Normal::new(0.0, 0.1).unwrap();
    for p in enc.iter_mut().chain(dec.iter_mut()) {
        *p += rng.sample(jitter);
    }

    let lr = 0.02;
    println!(
        "K = {K} codes, {} points in {} clusters, β = {BETA}",
        data.len(),
        CENTRES.len()
    );
    println!("epoch   mean loss   codes used   usage per code");
    for epoch in 0..=30 {
        if epoch > 0 {
            for _ in 0..data.len() {
                let x = &data[rng.random_range(0..data.len())];
                let (_, (g_enc, g_dec, g_code)) = vq_loss_grad(&enc, &dec, &codebook, x);
                for (p, g) in enc.iter_mut().zip(&g_enc) {
                    *p -= lr * g;
                }
                for (p, g) in dec.iter_mut().zip(&g_dec) {
                    *p -= lr * g;
                }
                for (row, g_row) in codebook.iter_mut().zip(&g_code) {
                    for (p, g) in row.iter_mut().zip(g_row) {
                        *p -= lr * g;
                    }
                }
            }
        }
        if epoch % 5 == 0 {
            let mean = data
                .iter()
                .map(|x| vq_loss(&enc, &dec, &codebook, x))
                .sum::<f64>()
                / data.len() as f64;
            let mut usage = [0usize; K];
            for x in &data {
                usage[code_of(&enc, &codebook, x)] += 1;
            }
            let used = usage.iter().filter(|&&u| u > 0).count();
            println!("{epoch:5}   {mean:9.5}   {used:10}   {usage:?}");
        }
    }

    // Each cluster should land on one code of its own.
    println!("cluster centre → code");
    let mut codes: Vec<usize> = Vec::new();
    for c in CENTRES {
        let k = code_of(&enc, &codebook, &c);
        println!("  ({:5.2}, {:5.2}) → {k}", c[0], c[1]);
        codes.push(k);
    }
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), CENTRES.len(), "two clusters share a code");
}
