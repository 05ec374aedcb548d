//! A GradBench tool for sgrad: speaks GradBench's JSON-lines protocol on
//! stdin/stdout (`sgrad-gradbench`), or times each eval's primal against
//! its derivative (`sgrad-gradbench --bench`).

mod bench;
// The objectives index arrays as the specifications write them (x_i, t_i^j).
#[allow(clippy::needless_range_loop)]
mod evals;
mod protocol;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() {
        let stdin = std::io::stdin();
        let stdout = std::io::stdout();
        if let Err(e) = protocol::serve(stdin.lock(), stdout.lock()) {
            if e.kind() != std::io::ErrorKind::BrokenPipe {
                eprintln!("sgrad-gradbench: {e}");
                std::process::exit(1);
            }
        }
        return;
    }
    if args[0] == "--bench" {
        if let Err(e) = bench::run(&args[1..]) {
            eprintln!("sgrad-gradbench: {e}");
            std::process::exit(1);
        }
        return;
    }
    eprintln!("usage: sgrad-gradbench            serve the GradBench protocol on stdin/stdout");
    eprintln!(
        "       sgrad-gradbench --bench [EVAL..] [--manual DIR] [--min-runs N] [--min-seconds S]"
    );
    std::process::exit(2);
}
