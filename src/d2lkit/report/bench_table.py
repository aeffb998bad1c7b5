"""The terminal table of `d2lkit bench` (from the bench.json dictionary)."""

from __future__ import annotations


def number(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def machine_lines(results: dict) -> list[str]:
    env = results["environment"]
    where = env.get("gpu") or env.get("cpu_model") or env["processor"]
    peaks = results["matmul_peak_gflops"]
    return [
        f"machine: {where}, device {env['device']}, {env['torch_threads']} threads,"
        f" torch {env['torch']}",
        f"matmul peak ({results['matmul_size']}^2): fp32 {peaks['fp32']:.0f} GFLOP/s,"
        f" bf16 {peaks['bf16']:.0f} GFLOP/s",
    ]


def book_lines(section: dict) -> list[str]:
    if "skipped" in section:
        return [f"book's LeNet loop: skipped ({section['skipped']})"]
    book, ours = section["book"], section["d2lkit"]
    how = (
        f"train time extrapolated per epoch from {book['steps']} steps each; eval measured"
        if book["extrapolated"]
        else "one whole epoch each"
    )
    width = 44
    return [
        f"LeNet, the book's settings (Adam 1e-3, batch 256, fp32): {how}",
        f"{'':{width}s} {'train s/epoch':>14s} {'epoch s':>9s} {'train CPU-s':>12s}",
        f"{'book: torchvision DataLoader(num_workers=4)':{width}s}"
        f" {book['train_s_per_epoch']:14.2f} {book['epoch_s']:9.2f}"
        f" {book['train_cpu_s_per_epoch']:12.2f}",
        f"{'d2lkit train lenet':{width}s}"
        f" {ours['train_s_per_epoch']:14.2f} {ours['epoch_s']:9.2f}"
        f" {ours['train_cpu_s_per_epoch']:12.2f}",
        f"{'speed-up (book / d2lkit)':{width}s}"
        f" {section['train_speedup']:13.1f}x {section['epoch_speedup']:8.1f}x"
        f" {section['train_cpu_ratio']:11.1f}x",
        f"d2lkit train lenet peak resident memory: {ours['peak_rss_mb']:.0f} MiB",
    ]


def model_lines(models: dict) -> list[str]:
    header = (
        f"{'model':10s} {'input':>10s} {'GFLOP/img':>10s} {'variant':28s} {'img/s':>9s}"
        f" {'GFLOP/s':>8s} {'util':>6s} {'vs fp32':>8s}"
    )
    lines = [header]
    for name, model in models.items():
        if "skipped" in model:
            lines.append(f"{name:10s} skipped: {model['skipped']}")
            continue
        size = "x".join(str(s) for s in model["input_size"])
        gflop = f"{model['train_gflop_per_image']:.4g}"
        for variant, result in model["variants"].items():
            prefix = f"{name:10s} {size:>10s} {gflop:>10s} {variant:28s}"
            if "skipped" in result:
                lines.append(f"{prefix} skipped: {result['skipped']}")
                continue
            lines.append(
                f"{prefix} {result['images_per_s']:9.0f} {result['achieved_gflops']:8.1f}"
                f" {100 * result['utilisation']:5.1f}%"
                f" {number(result.get('speedup_vs_fp32'), 2):>7s}x"
            )
            name, size, gflop = "", "", ""
    return lines


def format_table(results: dict) -> str:
    lines = machine_lines(results) + [""] + book_lines(results["book_vs_d2lkit"])
    lines += ["", "training step of d2lkit's Trainer (GFLOP/img: forward + backward)"]
    lines += model_lines(results["models"])
    lines += [f"bench wall time {results['wall_s']:.0f} s"]
    return "\n".join(lines)
