//! `ferrex bench` outputs: HdrHistogram interval logs and PNG plots.

use crate::bench::RunResult;
use crate::plot::ensure_font;
use anyhow::{Context, anyhow};
use hdrhistogram::serialization::V2Serializer;
use hdrhistogram::serialization::interval_log::IntervalLogWriterBuilder;
use plotters::prelude::*;
use std::path::Path;

/// Write the run's per-segment histograms as an HdrHistogram interval log (V2, readable by
/// HdrHistogram's HistogramLogAnalyzer and plotFiles).
pub fn write_hlog(path: &Path, r: &RunResult) -> anyhow::Result<()> {
    let mut file = std::io::BufWriter::new(
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
    );
    let mut ser = V2Serializer::new();
    let mut w = IntervalLogWriterBuilder::new()
        .add_comment("ferrex bench: order->ack latency in ns")
        .with_start_time(std::time::SystemTime::now())
        .with_max_value_divisor(1.0)
        .begin_log_with(&mut file, &mut ser)
        .map_err(|e| anyhow!("writing {}: {e}", path.display()))?;
    for (start, dur, h) in &r.intervals {
        w.write_histogram(h, *start, *dur, None)
            .map_err(|e| anyhow!("writing {}: {e:?}", path.display()))?;
    }
    Ok(())
}

/// Percentile distribution plot (HdrHistogram style: x = 1/(1-percentile) on a log scale).
pub fn plot_percentiles(path: &Path, runs: &[&RunResult]) -> anyhow::Result<()> {
    ensure_font()?;
    let root = BitMapBackend::new(path, (1000, 600)).into_drawing_area();
    root.fill(&WHITE)?;
    let max_us = runs
        .iter()
        .map(|r| r.hist.value_at_quantile(0.99999) as f64 / 1000.0)
        .fold(0.1f64, f64::max)
        * 1.1;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "ferrex order->ack latency by percentile",
            ("sans-serif", 24),
        )
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d((1.0f64..1e6f64).log_scale(), (0.05f64..max_us).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("percentile (1/(1-p): 10 = 90%, 100 = 99%, 1000 = 99.9%, ...)")
        .y_desc("latency (µs)")
        .draw()?;
    let colors = [BLUE, RED, GREEN, MAGENTA, CYAN, BLACK];
    for (i, r) in runs.iter().enumerate() {
        let mut pts = Vec::new();
        let mut q = 0.0f64;
        while q < 0.999_999 {
            let x = 1.0 / (1.0 - q);
            pts.push((x, (r.hist.value_at_quantile(q) as f64 / 1000.0).max(0.05)));
            q = 1.0 - (1.0 - q) / 1.12;
        }
        let mut label = match r.rate {
            Some(x) => format!("open loop {:.0}/s", x),
            None => "closed loop".into(),
        };
        if let Some((d, _)) = &r.journal {
            label.push_str(&format!(", journal {}", crate::bench::durability_name(*d)));
            if r.report.snapshots.is_some() {
                label.push_str(" + snapshots");
            }
        }
        let color = colors[i % colors.len()];
        chart
            .draw_series(LineSeries::new(pts, color.stroke_width(2)))?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
        let floor_us = r.floor_median() / 1000.0;
        chart.draw_series(LineSeries::new(
            vec![(1.0, floor_us), (1e6, floor_us)],
            color.mix(0.4).stroke_width(1),
        ))?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

/// Latency against offered load (p50, p99, p99.9 per rate) for a sweep.
pub fn plot_sweep(path: &Path, runs: &[&RunResult]) -> anyhow::Result<()> {
    ensure_font()?;
    let root = BitMapBackend::new(path, (1000, 600)).into_drawing_area();
    root.fill(&WHITE)?;
    let pts: Vec<(f64, f64, f64, f64)> = runs
        .iter()
        .map(|r| {
            (
                r.throughput(),
                r.hist.value_at_quantile(0.5) as f64 / 1000.0,
                r.hist.value_at_quantile(0.99) as f64 / 1000.0,
                r.hist.value_at_quantile(0.999) as f64 / 1000.0,
            )
        })
        .collect();
    let xmax = pts.iter().map(|p| p.0).fold(1.0, f64::max) * 1.5;
    let ymax = pts.iter().map(|p| p.3).fold(0.1, f64::max) * 1.5;
    let mut chart = ChartBuilder::on(&root)
        .caption("ferrex latency vs load", ("sans-serif", 24))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d((50_000.0f64..xmax).log_scale(), (0.01f64..ymax).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("achieved throughput (commands/s)")
        .y_desc("latency (µs)")
        .draw()?;
    for (name, idx, color) in [("p50", 1usize, BLUE), ("p99", 2, RED), ("p99.9", 3, BLACK)] {
        let series: Vec<(f64, f64)> = pts
            .iter()
            .map(|p| {
                (
                    p.0,
                    match idx {
                        1 => p.1,
                        2 => p.2,
                        _ => p.3,
                    },
                )
            })
            .collect();
        chart
            .draw_series(LineSeries::new(series.clone(), color.stroke_width(2)))?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
        chart.draw_series(
            series
                .into_iter()
                .map(|p| Circle::new(p, 3, color.filled())),
        )?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}
