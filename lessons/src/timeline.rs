//! The timeline recorder: what a lesson's tasks did, drawn as an SVG.
//!
//! A lesson marks what its transcript cannot show: how long someone waited or
//! worked ([`waiting`], [`working`]), who handed what to whom ([`handoff`]) and
//! the moments that matter ([`mark`]). Every [`say!`](crate::say) line is
//! recorded too, as a tick on the lane of the actor named before its first `:`;
//! a line starting with `-` opens a new part of the lesson.
//!
//! Nothing is kept unless the lesson runs with `--timeline FILE`: then the
//! harness collects the records and, after the lesson ends, writes the picture
//! (see [`render`]): a lane per actor, a time axis in seconds, solid bars for
//! working, hatched bars for waiting, arrows for hand-offs, diamonds for moments.
//!
//! Records may come from any thread. On the lesson's thread and its blocking
//! pool the time is the lesson clock (virtual with `--fast`). On the threads of
//! [`on_worker_threads`](crate::on_worker_threads), whose runtime keeps real
//! time, a record carries the lesson time at which that part started (plus the
//! real time since, on the real clock only), as the part's transcript lines do.

use std::cell::Cell;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::time::{Duration, Instant};

/// Working is drawn solid, waiting hatched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    Working,
    Waiting,
}

/// One thing the picture shows.
#[derive(Debug, Clone, PartialEq)]
enum Record {
    Bar {
        lane: usize,
        activity: Activity,
        label: String,
        from: Duration,
        to: Option<Duration>,
        /// Its task was dropped while the bar's work was still under way.
        cut: bool,
    },
    Handoff {
        from: usize,
        to: usize,
        label: String,
        at: Duration,
    },
    Mark {
        lane: usize,
        label: String,
        at: Duration,
    },
    /// A transcript line; `line` is `None` when its text varies by machine.
    Tick {
        lane: usize,
        line: Option<String>,
        at: Duration,
    },
    Part {
        caption: String,
        at: Duration,
    },
}

/// Everything recorded during one run: lanes in drawing order, then records
/// in the order they were made.
#[derive(Debug, Default)]
pub struct Timeline {
    lanes: Vec<String>,
    fixed_lanes: bool,
    records: Vec<Record>,
    start: Option<Instant>,
    end: Option<Duration>,
}

static RECORDING: AtomicBool = AtomicBool::new(false);
static TIMELINE: Mutex<Timeline> = Mutex::new(Timeline {
    lanes: Vec::new(),
    fixed_lanes: false,
    records: Vec::new(),
    start: None,
    end: None,
});

thread_local! {
    // Set on the threads of `on_worker_threads`: the lesson time when the part
    // started, the real instant it started, and whether the lesson clock is paused.
    static WORKER_PART: Cell<Option<(Duration, std::time::Instant, bool)>> =
        const { Cell::new(None) };
}

/// The recorder's lock. A panic elsewhere while it was held leaves the records
/// usable, so a poisoned lock is taken over rather than passed on as a panic.
fn timeline() -> MutexGuard<'static, Timeline> {
    TIMELINE.lock().unwrap_or_else(PoisonError::into_inner)
}

fn recording() -> bool {
    RECORDING.load(Ordering::Relaxed)
}

/// Runs `f` on the timeline if one is being recorded.
fn with_timeline<T>(f: impl FnOnce(&mut Timeline, Duration) -> T) -> Option<T> {
    if !recording() {
        return None;
    }
    let at = worker_time();
    let mut timeline = timeline();
    let at = at.unwrap_or_else(|| timeline.now());
    Some(f(&mut timeline, at))
}

fn worker_time() -> Option<Duration> {
    WORKER_PART.get().map(|(base, started, paused)| match paused {
        true => base,
        false => base + started.elapsed(),
    })
}

/// Starts recording: called by the harness for `--timeline FILE`.
pub(crate) fn start_recording() {
    *timeline() = Timeline::default();
    RECORDING.store(true, Ordering::Relaxed);
}

/// The lesson clock has started (on the lesson's thread, in its runtime).
pub(crate) fn lesson_started() {
    if recording() {
        timeline().start = Some(Instant::now());
    }
}

/// The lesson's body has returned: bars still open end here.
pub(crate) fn lesson_ended() {
    let _ = with_timeline(|timeline, at| {
        timeline.end.get_or_insert(at);
    });
}

/// Stops recording and hands over what was recorded.
pub(crate) fn finish() -> Timeline {
    RECORDING.store(false, Ordering::Relaxed);
    std::mem::take(&mut *timeline())
}

/// Marks the calling thread as a worker of a part that started at lesson
/// time `base` (see the module's notes on threads).
pub(crate) fn enter_worker_part(
    base: Duration,
    started: std::time::Instant,
    paused: bool,
) {
    WORKER_PART.set(Some((base, started, paused)));
}

/// The calling thread goes back to the lesson's clock.
pub(crate) fn leave_worker_part() {
    WORKER_PART.set(None);
}

/// A bar on `actor`'s lane, drawn hatched, from now until the guard drops.
#[must_use = "the bar ends when the Span drops: bind it, `let _waiting = ...`"]
pub fn waiting(actor: &str, label: impl Into<String>) -> Span {
    span(actor, Activity::Waiting, label.into())
}

/// A bar on `actor`'s lane, drawn solid, from now until the guard drops.
#[must_use = "the bar ends when the Span drops: bind it, `let _working = ...`"]
pub fn working(actor: &str, label: impl Into<String>) -> Span {
    span(actor, Activity::Working, label.into())
}

fn span(actor: &str, activity: Activity, label: String) -> Span {
    let index = with_timeline(|timeline, from| {
        let lane = timeline.lane(actor);
        let to = None;
        timeline.records.push(Record::Bar {
            lane,
            activity,
            label,
            from,
            to,
            cut: false,
        });
        timeline.records.len() - 1
    });
    Span { index, cut_if_dropped: false }
}

/// An arrow from `from`'s lane to `to`'s at this instant.
pub fn handoff(from: &str, to: &str, label: impl Into<String>) {
    let label = label.into();
    let _ = with_timeline(|timeline, at| {
        let (from, to) = (timeline.lane(from), timeline.lane(to));
        timeline.records.push(Record::Handoff { from, to, label, at });
    });
}

/// A named moment on `actor`'s lane: gave up, cancelled, lost, refused...
pub fn mark(actor: &str, label: impl Into<String>) {
    let label = label.into();
    let _ = with_timeline(|timeline, at| {
        let lane = timeline.lane(actor);
        timeline.records.push(Record::Mark { lane, label, at });
    });
}

/// Fixes the lanes and their order; call it first. From then on a `say!` line
/// ticks only these lanes, while a bar, hand-off or mark naming another actor
/// still adds a lane below them.
pub fn lanes(names: &[&str]) {
    let _ = with_timeline(|timeline, _| {
        for name in names {
            timeline.lane(name);
        }
        timeline.fixed_lanes = true;
    });
}

/// Records a transcript line (without its stamp): called by `say!`.
pub(crate) fn said(line: &str) {
    let _ = with_timeline(|timeline, at| timeline.said(line, at));
}

/// A bar in the making: it ends when this drops, or at [`Span::end`].
#[derive(Debug)]
pub struct Span {
    index: Option<usize>,
    /// Set while [`Span::during`] awaits: dropped then, the bar was cut off.
    cut_if_dropped: bool,
}

impl Span {
    /// Ends the bar now.
    pub fn end(self) {}

    /// Awaits `future`, then ends the bar: `working("lab", "analyses")
    /// .during(sleep(ms(1_000))).await` draws that second as work. If the
    /// task is dropped before `future` is done (aborted, cancelled, its
    /// runtime gone while the lesson still runs), the bar is drawn cut off.
    pub async fn during<F: std::future::Future>(mut self, future: F) -> F::Output {
        self.cut_if_dropped = true;
        let output = future.await;
        self.cut_if_dropped = false;
        drop(self);
        output
    }
}

impl Drop for Span {
    fn drop(&mut self) {
        let Some(index) = self.index else { return };
        let _ = with_timeline(|timeline, now| {
            let end = timeline.end;
            if let Some(Record::Bar { to: to @ None, cut, .. }) =
                timeline.records.get_mut(index)
            {
                // Once the lesson has ended, a bar can only end because the
                // runtime is dropping its task: it ends with the lesson, and
                // is not drawn as cut: it was still going when the lesson ended.
                *to = Some(end.unwrap_or(now));
                *cut = self.cut_if_dropped && end.is_none();
            }
        });
    }
}

impl Timeline {
    fn now(&self) -> Duration {
        self.start.map_or(Duration::ZERO, |start| {
            Instant::now().saturating_duration_since(start)
        })
    }

    fn lane(&mut self, actor: &str) -> usize {
        let actor = actor.trim();
        match self.lanes.iter().position(|lane| lane == actor) {
            Some(lane) => lane,
            None => {
                self.lanes.push(actor.to_owned());
                self.lanes.len() - 1
            }
        }
    }

    /// The lane a `say!` line's actor ticks: the lane of that name, or else
    /// the lane whose name starts it (`handler P-001` ticks a lane `handler`).
    fn lane_of(&self, actor: &str) -> Option<usize> {
        let exact = self.lanes.iter().position(|lane| lane == actor);
        let start_of = |lane: &String| {
            actor
                .strip_prefix(lane.as_str())
                .is_some_and(|rest| rest.starts_with(' '))
        };
        let longest = (0..self.lanes.len())
            .filter(|lane| start_of(&self.lanes[*lane]))
            .max_by_key(|lane| self.lanes[*lane].len());
        exact.or(longest)
    }

    fn said(&mut self, line: &str, at: Duration) {
        let text = line.trim();
        if text.starts_with('-') {
            let caption = text.trim_start_matches(['-', ' ']).to_owned();
            self.records.push(Record::Part { caption, at });
            return;
        }
        let Some((actor, _)) = text.split_once(':') else { return };
        let actor = actor.trim();
        if actor.is_empty() {
            return;
        }
        let lane = match self.lane_of(actor) {
            Some(lane) => lane,
            None if self.fixed_lanes => return,
            None => self.lane(actor),
        };
        let line = (!text.contains("varies by machine")).then(|| text.to_owned());
        self.records.push(Record::Tick { lane, line, at });
    }

    /// The records as drawn: a bar still open ends with the lesson, and a bar
    /// that lasted no time at all (a wait that did not wait) is left out.
    fn settled(&self) -> Timeline {
        let end = self.end;
        let records = self.records.iter().filter_map(|record| match record {
            Record::Bar { lane, activity, label, from, to, cut } => {
                let to = to.or(end).unwrap_or(*from);
                (to > *from).then(|| Record::Bar {
                    lane: *lane,
                    activity: *activity,
                    label: label.clone(),
                    from: *from,
                    to: Some(to),
                    cut: *cut,
                })
            }
            other => Some(other.clone()),
        });
        Timeline {
            lanes: self.lanes.clone(),
            fixed_lanes: self.fixed_lanes,
            records: records.collect(),
            start: self.start,
            end,
        }
    }

    /// Where the time axis ends: the lesson's end, or the last record.
    fn last_moment(&self) -> Duration {
        let latest = self.records.iter().map(|record| match record {
            Record::Bar { from, to, .. } => to.unwrap_or(*from),
            Record::Handoff { at, .. }
            | Record::Mark { at, .. }
            | Record::Tick { at, .. }
            | Record::Part { at, .. } => *at,
        });
        latest.chain(self.end).max().unwrap_or(Duration::ZERO)
    }
}

// ---------------------------------------------------------------------------
// Drawing. Sizes are in CSS pixels at the book's content width (750 px); the
// SVG scales with the page. Numbers are written with one decimal, records in
// the order they were made: the same run gives the same bytes.

const WIDTH: f64 = 750.0;
const MARGIN: f64 = 12.0;
const FONT: f64 = 14.0;
const LANE_FONT: f64 = 15.0;
const ROW: f64 = 18.0;
/// Room above a lane's bars for its transcript ticks.
const BAR_TOP: f64 = 8.0;
const BAR: f64 = 19.0;
/// Space between two rows of bars in one lane.
const BAR_GAP: f64 = 3.0;
const LABEL_GAP: f64 = 10.0;
/// The most room lane names take, left of the time axis.
const NAMES: f64 = 240.0;
/// The radius of a part's numbered badge.
const BADGE: f64 = 9.0;

const INK: &str = "#1a1a1a";
const WORK: &str = "#2c5d8f";
const WAIT: &str = "#b35900";
const GRID: &str = "#d9d9d9";

/// How wide `text` is drawn, estimated from DejaVu Sans' glyph widths (a wide
/// face; most others are narrower, so the estimate errs on the roomy side).
fn text_width(text: &str, font: f64) -> f64 {
    let em: f64 = text
        .chars()
        .map(|c| match c {
            ' ' | '\'' | '.' | ',' | ':' | ';' | '!' | '|' | 'i' | 'j' | 'l' => 0.33,
            'f' | 't' | 'r' | '(' | ')' | '-' | '[' | ']' | 'I' => 0.42,
            'm' | 'w' | 'M' | 'W' | '%' | '@' => 0.9,
            'A'..='Z' | '#' | '&' => 0.72,
            _ => 0.63,
        })
        .sum();
    em * font
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// How wide a lane's name is drawn: in bold, about a tenth wider.
fn name_width(name: &str) -> f64 {
    text_width(name, LANE_FONT) * 1.1
}

/// `name`, cut short with an ellipsis if it is wider than `width` in lane type.
fn fit(name: &str, width: f64) -> String {
    if name_width(name) <= width {
        return name.to_owned();
    }
    let mut cut: String = name.to_owned();
    while !cut.is_empty() && name_width(&cut) + name_width("…") > width {
        cut.pop();
    }
    format!("{}…", cut.trim_end())
}

/// Seconds as the picture writes them: `2 s`, `2.5 s`.
fn seconds(at: Duration) -> String {
    let secs = at.as_secs_f64();
    if (secs - secs.round()).abs() < 0.05 {
        format!("{secs:.0} s")
    } else {
        format!("{secs:.1} s")
    }
}

/// Spacing of the axis' ticks: the smallest step giving at most ten intervals.
fn axis_step(span_secs: f64) -> f64 {
    const STEPS: [f64; 10] = [0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0];
    STEPS.into_iter().find(|step| span_secs / step <= 10.0).unwrap_or(120.0)
}

/// A label to place in one of the rows under a lane's bars (or above all
/// lanes, for part captions): wanted at `x`, `width` wide.
struct Label {
    anchor: f64,
    x: f64,
    width: f64,
    text: String,
    bold: bool,
    row: usize,
}

impl Label {
    fn new(anchor: f64, x: f64, text: &str, bold: bool) -> Label {
        let width = text_width(text, FONT) * if bold { 1.1 } else { 1.0 };
        Label { anchor, x, width, text: text.to_owned(), bold, row: 0 }
    }
}

/// Where a label wanted at `x` goes so that no vertical line (an arrow, a
/// part's rule) runs through it: `x` if it is clear; else just right of the
/// line in the way, if that line is at the label's `anchor` or left of it;
/// else just left of it, if that is clear and no more than a label's width
/// away; else `x` after all (the text's white halo keeps it legible). A label
/// never jumps over a line to its right: past a part's rule it would read as
/// part of the next part. Always within the edges.
fn clear_of(
    lines: &[f64],
    anchor: f64,
    x: f64,
    width: f64,
    edges: (f64, f64),
) -> f64 {
    let within = |x: f64| x.min(edges.1 - width).max(edges.0);
    let crossed = |x: f64| {
        lines.iter().copied().find(|l| x < *l + 2.0 && x + width > *l - 2.0)
    };
    let x = within(x);
    let Some(line) = crossed(x) else { return x };
    let right_of_line = (line <= anchor + 2.0).then_some(line + 4.0);
    right_of_line
        .into_iter()
        .chain([line - 4.0 - width])
        .find(|c| {
            within(*c) == *c && crossed(*c).is_none() && (c - x).abs() <= width
        })
        .unwrap_or(x)
}

/// Stacks labels into rows, left to right: each goes in the first row where
/// it clears the label before it by a gap, so no two labels overlap.
fn stack(labels: &mut [Label], left: f64, right: f64, lines: &[f64]) -> usize {
    for label in labels.iter_mut() {
        label.x = clear_of(lines, label.anchor, label.x, label.width, (left, right));
    }
    let mut order: Vec<usize> = (0..labels.len()).collect();
    order.sort_by(|a, b| labels[*a].x.total_cmp(&labels[*b].x).then(a.cmp(b)));
    let mut row_ends: Vec<f64> = Vec::new();
    for index in order {
        let label = &mut labels[index];
        let row = row_ends.iter().position(|end| *end + LABEL_GAP <= label.x);
        let row = row.unwrap_or_else(|| {
            row_ends.push(f64::MIN);
            row_ends.len() - 1
        });
        row_ends[row] = label.x + label.width;
        label.row = row;
    }
    row_ends.len()
}

/// Like [`stack`], for the parts' captions, which keep their reading order:
/// each takes the first row where it fits, never above the caption before
/// it, so they read 1, 2, 3 from the top even when a long one is moved left.
fn stack_in_order(labels: &mut [Label], left: f64, right: f64) -> usize {
    let mut rows: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut lowest = 0;
    for label in labels.iter_mut() {
        label.x = clear_of(&[], label.anchor, label.x, label.width, (left, right));
        let (start, end) = (label.x, label.x + label.width);
        let fits = |row: &Vec<(f64, f64)>| {
            row.iter().all(|(s, e)| end + LABEL_GAP <= *s || *e + LABEL_GAP <= start)
        };
        let row = (lowest..rows.len()).find(|r| fits(&rows[*r]));
        let row = row.unwrap_or_else(|| {
            rows.push(Vec::new());
            rows.len() - 1
        });
        rows[row].push((start, end));
        label.row = row;
        lowest = row;
    }
    rows.len()
}

/// Where everything goes: the plot's edges and each lane's place.
struct Layout {
    left: f64,
    right: f64,
    axis_end: f64,
    /// Top of each lane's band of bars.
    band_tops: Vec<f64>,
    /// How many rows of bars each lane needs (bars that overlap stack up).
    band_rows: Vec<usize>,
    /// For each record, the row of bars it is drawn in (bars only).
    bar_rows: Vec<usize>,
}

impl Layout {
    fn x(&self, at: Duration) -> f64 {
        self.left + at.as_secs_f64() / self.axis_end * (self.right - self.left)
    }

    fn bar_top(&self, lane: usize, row: usize) -> f64 {
        self.band_tops[lane] + row as f64 * (BAR + BAR_GAP)
    }

    fn band_bottom(&self, lane: usize) -> f64 {
        self.bar_top(lane, self.band_rows[lane]) - BAR_GAP
    }

    fn band_middle(&self, lane: usize) -> f64 {
        (self.band_tops[lane] + self.band_bottom(lane)) / 2.0
    }
}

/// Gives each bar a row within its lane: the first row free at its start.
fn bar_rows(timeline: &Timeline) -> (Vec<usize>, Vec<usize>) {
    let mut row_ends: Vec<Vec<Duration>> = vec![Vec::new(); timeline.lanes.len()];
    let mut rows = vec![0; timeline.records.len()];
    for (index, record) in timeline.records.iter().enumerate() {
        if let Record::Bar { lane, from, to, .. } = record {
            let ends = &mut row_ends[*lane];
            let row = ends.iter().position(|end| end <= from).unwrap_or_else(|| {
                ends.push(Duration::ZERO);
                ends.len() - 1
            });
            ends[row] = to.unwrap_or(*from);
            rows[index] = row;
        }
    }
    let band_rows = row_ends.iter().map(|ends| ends.len().max(1)).collect();
    (rows, band_rows)
}

/// Draws `timeline` as a static SVG titled `title`.
pub fn render(title: &str, timeline: &Timeline) -> String {
    let timeline = &timeline.settled();
    let end = timeline.last_moment().as_secs_f64().max(0.1);
    let step = axis_step(end);
    let axis_end = (end / step - 1e-9).ceil().max(1.0) * step;
    // Lane names get at most a third of the width; a longer one is cut short.
    let names: Vec<String> =
        timeline.lanes.iter().map(|name| fit(name, NAMES)).collect();
    let names_width = names.iter().map(|name| name_width(name)).fold(40.0, f64::max);
    let (bar_rows, band_rows) = bar_rows(timeline);
    let mut layout = Layout {
        left: MARGIN + names_width + 12.0,
        right: WIDTH - MARGIN - 8.0,
        axis_end,
        band_tops: Vec::new(),
        band_rows,
        bar_rows,
    };

    // Parts are numbered: a numbered badge tops each part's dashed rule, and
    // the numbered captions sit in rows above, as near their rule as fits.
    let mut captions: Vec<Label> = Vec::new();
    for record in &timeline.records {
        if let Record::Part { caption, at } = record {
            let (anchor, number) = (layout.x(*at), captions.len() + 1);
            let text = format!("{number}. {caption}");
            captions.push(Label::new(anchor, anchor - 4.0, &text, false));
        }
    }
    let caption_rows = stack_in_order(&mut captions, MARGIN, WIDTH - MARGIN);
    let badges_y = MARGIN + caption_rows as f64 * ROW + 12.0;
    let mut badges: Vec<f64> = Vec::new();
    for caption in &captions {
        let after = badges.last().map_or(f64::MIN, |last| last + 2.0 * BADGE + 3.0);
        badges.push(caption.anchor.max(after));
    }

    // A bar's label goes inside it when it fits; every other label (bars too
    // short, marks, hand-offs on the upper of their two lanes) in rows under
    // its lane's bars.
    let mut inside: Vec<Option<f64>> = vec![None; timeline.records.len()];
    let mut lane_labels: Vec<Vec<Label>> =
        timeline.lanes.iter().map(|_| Vec::new()).collect();
    for (index, record) in timeline.records.iter().enumerate() {
        let (lane, anchor, text, bold) = match record {
            Record::Bar { lane, label, from, to, .. } => {
                let (x1, x2) = (layout.x(*from), layout.x(to.unwrap_or(*from)));
                if text_width(label, FONT) + 12.0 <= x2 - x1 {
                    inside[index] = Some(x1 + 5.0);
                    continue;
                }
                (*lane, x1, label, false)
            }
            Record::Handoff { from, to, label, at } => {
                ((*from).min(*to), layout.x(*at), label, false)
            }
            Record::Mark { lane, label, at } => (*lane, layout.x(*at), label, true),
            _ => continue,
        };
        if !text.is_empty() {
            let x = if bold { anchor - 6.0 } else { anchor + 3.0 };
            lane_labels[lane].push(Label::new(anchor, x, text, bold));
        }
    }
    let lanes_top = match captions.is_empty() {
        true => MARGIN + 10.0,
        false => badges_y + BADGE + 6.0,
    };
    let mut y = lanes_top;
    let mut label_tops = Vec::new();
    for (lane, labels) in lane_labels.iter_mut().enumerate() {
        layout.band_tops.push(y + BAR_TOP);
        label_tops.push(layout.band_bottom(lane) + 6.0);
        // Arrows pass through the labels of the lanes from theirs down to
        // the one above their target; part rules through every lane's.
        let mut lines: Vec<f64> =
            captions.iter().map(|caption| caption.anchor).collect();
        for record in &timeline.records {
            if let Record::Handoff { from, to, at, .. } = record
                && (*from).min(*to) <= lane
                && lane < (*from).max(*to)
            {
                lines.push(layout.x(*at));
            }
        }
        let rows = stack(labels, layout.left, layout.right, &lines);
        y = layout.band_bottom(lane) + 6.0 + rows as f64 * ROW + 8.0;
    }
    let axis_y = y + 4.0;
    let legend_y = axis_y + 42.0;
    let height = legend_y + 16.0 + MARGIN;

    let mut svg = String::new();
    let w = &mut svg;
    let _ = writeln!(
        w,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH:.0}\" \
         height=\"{height:.0}\" viewBox=\"0 0 {WIDTH:.0} {height:.0}\" role=\"img\" \
         aria-labelledby=\"title desc\" font-family=\"'DejaVu Sans', Verdana, \
         sans-serif\" font-size=\"{FONT:.0}\">"
    );
    let _ = writeln!(w, "<title id=\"title\">{}</title>", escape(title));
    let _ = writeln!(w, "<desc id=\"desc\">{}</desc>", escape(&describe(timeline)));
    let _ = writeln!(
        w,
        "<defs>\n<pattern id=\"hatch\" width=\"6\" height=\"6\" \
         patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">\
         <rect width=\"6\" height=\"6\" fill=\"#fff\"/><line x1=\"0\" y1=\"0\" x2=\"0\" \
         y2=\"6\" stroke=\"{WAIT}\" stroke-width=\"3\"/></pattern>\n\
         <marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" \
         markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\">\
         <path d=\"M0,0 L10,5 L0,10 z\" fill=\"{INK}\"/></marker>\n</defs>\n\
         <rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>"
    );

    // The time axis, with a faint grid line up through the lanes per step.
    let mut tick = 0.0;
    while tick <= axis_end + 1e-9 {
        let x = layout.x(Duration::from_secs_f64(tick));
        let _ = writeln!(
            w,
            "<line x1=\"{x:.1}\" y1=\"{lanes_top:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" \
             stroke=\"{GRID}\"/><text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" \
             fill=\"{INK}\">{}</text>",
            axis_y + 4.0,
            axis_y + 18.0,
            seconds(Duration::from_secs_f64(tick))
        );
        tick += step;
    }
    let _ = writeln!(
        w,
        "<line x1=\"{:.1}\" y1=\"{axis_y:.1}\" x2=\"{:.1}\" y2=\"{axis_y:.1}\" \
         stroke=\"{INK}\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" \
         fill=\"{INK}\">time since the lesson started</text>",
        layout.left,
        layout.right,
        layout.right,
        axis_y + 34.0
    );

    // Lane names, and a rule between lanes.
    for (lane, name) in names.iter().enumerate() {
        if lane > 0 {
            let top = layout.band_tops[lane] - BAR_TOP;
            let _ = writeln!(
                w,
                "<line x1=\"{MARGIN:.1}\" y1=\"{top:.1}\" x2=\"{:.1}\" y2=\"{top:.1}\" \
                 stroke=\"{GRID}\"/>",
                WIDTH - MARGIN
            );
        }
        let _ = writeln!(
            w,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" \
             font-size=\"{LANE_FONT:.0}\" font-weight=\"bold\" fill=\"{INK}\">{}</text>",
            layout.left - 10.0,
            layout.band_middle(lane) + 5.0,
            escape(name)
        );
    }

    // A dashed rule down from each part's badge.
    for (number, (caption, badge)) in captions.iter().zip(&badges).enumerate() {
        let _ = writeln!(
            w,
            "<path d=\"M{badge:.1},{:.1} L{x:.1},{lanes_top:.1} L{x:.1},{axis_y:.1}\" \
             fill=\"none\" stroke=\"{INK}\" stroke-dasharray=\"4 3\"/>\
             <circle cx=\"{badge:.1}\" cy=\"{badges_y:.1}\" r=\"{BADGE:.1}\" fill=\"#fff\" \
             stroke=\"{INK}\" stroke-width=\"1.5\"/><text x=\"{badge:.1}\" y=\"{:.1}\" \
             text-anchor=\"middle\" font-size=\"12\" font-weight=\"bold\" \
             fill=\"{INK}\">{}</text>",
            badges_y + BADGE,
            badges_y + 4.0,
            number + 1,
            x = caption.anchor,
        );
    }

    // Bars, then the crosses where bars were cut off (over any bar that
    // starts where one was cut).
    let mut crosses = Vec::new();
    for (index, record) in timeline.records.iter().enumerate() {
        let Record::Bar { lane, activity, label, from, to, cut } = record else {
            continue;
        };
        let to = to.unwrap_or(*from);
        let (x1, x2) = (layout.x(*from), layout.x(to));
        let (fill, stroke, what) = match activity {
            Activity::Working => (WORK, WORK, "working"),
            Activity::Waiting => ("url(#hatch)", WAIT, "waiting"),
        };
        let top = layout.bar_top(*lane, layout.bar_rows[index]);
        // A bar wider than a few pixels leaves a gap at each end, so that two
        // bars that meet still read as two.
        let inset = if x2 - x1 > 8.0 { 2.5 } else { 0.0 };
        let _ = writeln!(
            w,
            "<rect x=\"{:.1}\" y=\"{top:.1}\" width=\"{:.1}\" height=\"{BAR:.1}\" \
             fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"1.5\"><title>{}</title>\
             </rect>",
            x1 + inset,
            (x2 - x1 - 2.0 * inset).max(2.0),
            escape(&format!(
                "{what}, {} to {}{}: {label}",
                seconds(*from),
                seconds(to),
                if *cut { ", cut off" } else { "" }
            ))
        );
        if *cut {
            crosses.push(cross(x2, top + BAR / 2.0));
        }
        if let Some(x) = inside[index] {
            let (ink, halo) = match activity {
                Activity::Working => ("#fff", WORK),
                Activity::Waiting => (INK, "#fff"),
            };
            let _ = writeln!(
                w,
                "<text x=\"{x:.1}\" y=\"{:.1}\" fill=\"{ink}\" stroke=\"{halo}\" \
                 stroke-width=\"4\" paint-order=\"stroke\">{}</text>",
                top + BAR - 4.5,
                escape(label)
            );
        }
    }

    for cross in crosses {
        let _ = writeln!(w, "{cross}");
    }

    // A tick at the top of the lane for every transcript line.
    for record in &timeline.records {
        let Record::Tick { lane, line, at } = record else { continue };
        let (x, top) = (layout.x(*at), layout.band_tops[*lane]);
        let tooltip =
            line.as_deref().map(|line| format!("<title>{}</title>", escape(line)));
        let _ = writeln!(
            w,
            "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"{INK}\" \
             stroke-width=\"1.5\">{}</line>",
            top - 6.0,
            top + 2.0,
            tooltip.unwrap_or_default()
        );
    }

    // Leader lines from the lane down to labels that sit lower or aside.
    for (lane, labels) in lane_labels.iter().enumerate() {
        for label in labels {
            let text_top = label_tops[lane] + label.row as f64 * ROW;
            if label.row > 0 || (label.x - label.anchor).abs() > 8.0 {
                let _ = writeln!(
                    w,
                    "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" \
                     stroke=\"#777\"/>",
                    layout.band_bottom(lane) + 1.0,
                    text_top + 2.0,
                    x = label.anchor
                );
            }
        }
    }

    // Hand-offs as arrows, moments as diamonds. Where a moment falls on the
    // cross of a bar cut off in its lane, the cross marks it alone (the
    // label stays); an arrow into a lane stops short of a diamond there.
    let cut_at = |lane: usize, x: f64| {
        timeline.records.iter().any(|record| {
            matches!(record, Record::Bar { lane: l, to: Some(to), cut: true, .. }
                if *l == lane && (layout.x(*to) - x).abs() < 1.0)
        })
    };
    let diamond_at = |lane: usize, x: f64| {
        timeline.records.iter().any(|record| match record {
            Record::Mark { lane: l, at, .. } => {
                let mark = layout.x(*at);
                *l == lane && (mark - x).abs() < 9.0 && !cut_at(lane, mark)
            }
            Record::Handoff { from, to, at, .. } => {
                from == to && *from == lane && (layout.x(*at) - x).abs() < 9.0
            }
            _ => false,
        })
    };
    for record in &timeline.records {
        match record {
            Record::Handoff { from, to, label, at } if from != to => {
                let x = layout.x(*at);
                // Short of the diamond's point, if one is in the way.
                let clear = if diamond_at(*to, x) { 5.0 } else { 1.0 };
                let (y1, y2) = match from < to {
                    true => {
                        (layout.band_middle(*from), layout.band_tops[*to] - clear)
                    }
                    false => {
                        (layout.band_middle(*from), layout.band_bottom(*to) + clear)
                    }
                };
                let (a, b) = (&timeline.lanes[*from], &timeline.lanes[*to]);
                let _ = writeln!(
                    w,
                    "<line x1=\"{x:.1}\" y1=\"{y1:.1}\" x2=\"{x:.1}\" y2=\"{y2:.1}\" \
                     stroke=\"{INK}\" stroke-width=\"2\" marker-end=\"url(#arrow)\">\
                     <title>{}</title></line>",
                    escape(&format!("{}: {a} to {b}: {label}", seconds(*at)))
                );
            }
            Record::Handoff { from: lane, at, .. }
            | Record::Mark { lane, at, .. } => {
                let (x, y) = (layout.x(*at), layout.band_middle(*lane));
                if matches!(record, Record::Mark { .. }) && cut_at(*lane, x) {
                    continue;
                }
                let _ = writeln!(
                    w,
                    "<path d=\"M{x:.1},{:.1} l8,8 l-8,8 l-8,-8 z\" fill=\"{INK}\" \
                     stroke=\"#fff\" stroke-width=\"1.5\"/>",
                    y - 8.0
                );
            }
            _ => {}
        }
    }

    // Text last, with a white halo so that lines under it give way.
    let halo = "stroke=\"#fff\" stroke-width=\"4\" paint-order=\"stroke\"";
    for caption in &captions {
        let _ = writeln!(
            w,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-style=\"italic\" fill=\"{INK}\" \
             {halo}>{}</text>",
            caption.x,
            MARGIN + caption.row as f64 * ROW + 13.0,
            escape(&caption.text)
        );
    }
    for (lane, labels) in lane_labels.iter().enumerate() {
        for label in labels {
            let weight = if label.bold { " font-weight=\"bold\"" } else { "" };
            let _ = writeln!(
                w,
                "<text x=\"{:.1}\" y=\"{:.1}\"{weight} fill=\"{INK}\" {halo}>{}</text>",
                label.x,
                label_tops[lane] + label.row as f64 * ROW + 14.0,
                escape(&label.text)
            );
        }
    }

    legend(w, legend_y);
    let _ = writeln!(w, "</svg>");
    svg
}

/// A cross centred on (`x`, `y`): where a dropped task's bar was cut off.
fn cross(x: f64, y: f64) -> String {
    format!(
        "<path d=\"M{:.1},{:.1} l12,12 m0,-12 l-12,12\" stroke=\"#fff\" \
         stroke-width=\"6\"/><path d=\"M{:.1},{:.1} l12,12 m0,-12 l-12,12\" \
         stroke=\"{INK}\" stroke-width=\"2.5\"/>",
        x - 6.0,
        y - 6.0,
        x - 6.0,
        y - 6.0
    )
}

/// Draws a legend entry's shape with its left edge at `x`.
type Shape<'a> = &'a dyn Fn(f64) -> String;

/// The key under the axis: what solid, hatched, arrow, diamond and tick mean.
fn legend(w: &mut String, y: f64) {
    let bar = |fill: &str, stroke: &str, x: f64| {
        format!(
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"26\" height=\"12\" fill=\"{fill}\" \
             stroke=\"{stroke}\" stroke-width=\"1.5\"/>",
            y + 2.0
        )
    };
    let arrow = |x: f64| {
        format!(
            "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"{INK}\" \
             stroke-width=\"2\" marker-end=\"url(#arrow)\"/>",
            y + 8.0,
            x + 24.0,
            y + 8.0
        )
    };
    let diamond = |x: f64| {
        format!(
            "<path d=\"M{:.1},{:.1} l7,7 l-7,7 l-7,-7 z\" fill=\"{INK}\"/>",
            x + 7.0,
            y + 1.0
        )
    };
    let tick = |x: f64| {
        format!(
            "<line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"{INK}\" \
             stroke-width=\"1.5\"/>",
            x + 3.0,
            y + 2.0,
            x + 3.0,
            y + 12.0
        )
    };
    let working = |x| bar(WORK, WORK, x);
    let waiting = |x| bar("url(#hatch)", WAIT, x);
    let cut = |x: f64| cross(x + 6.0, y + 8.0);
    let entries: [(Shape, f64, &str); 6] = [
        (&working, 26.0, "working"),
        (&waiting, 26.0, "waiting"),
        (&cut, 12.0, "cut off"),
        (&arrow, 26.0, "hand-off"),
        (&diamond, 14.0, "moment"),
        (&tick, 6.0, "transcript line"),
    ];
    let mut x = MARGIN;
    for (draw, width, text) in entries {
        let shape = draw(x);
        let _ = writeln!(
            w,
            "{shape}<text x=\"{:.1}\" y=\"{:.1}\" fill=\"{INK}\">{text}</text>",
            x + width + 5.0,
            y + 12.0
        );
        x += width + 5.0 + text_width(text, FONT) + 18.0;
    }
}

/// The picture in words, for screen readers: the lanes, then every bar,
/// hand-off, mark and part in time order.
fn describe(timeline: &Timeline) -> String {
    let lanes = &timeline.lanes;
    let mut text = format!(
        "A timeline over {}, one lane per actor, top to bottom: {}.",
        seconds(timeline.last_moment()),
        lanes.join(", ")
    );
    let mut events: Vec<(Duration, String)> = Vec::new();
    for record in &timeline.records {
        let event = match record {
            Record::Bar { lane, activity, label, from, to, cut } => {
                let to = to.or(timeline.end).unwrap_or(*from);
                let what = match (activity, cut) {
                    (Activity::Working, false) => "works",
                    (Activity::Waiting, false) => "waits",
                    (Activity::Working, true) => "works, cut off",
                    (Activity::Waiting, true) => "waits, cut off",
                };
                (
                    *from,
                    format!(
                        "{} {what} until {}: {label}",
                        lanes[*lane],
                        seconds(to)
                    ),
                )
            }
            Record::Handoff { from, to, label, at } => {
                (*at, format!("{} hands {label} to {}", lanes[*from], lanes[*to]))
            }
            Record::Mark { lane, label, at } => {
                (*at, format!("{}: {label}", lanes[*lane]))
            }
            Record::Part { caption, at } => (*at, format!("part: {caption}")),
            Record::Tick { .. } => continue,
        };
        events.push(event);
    }
    events.sort_by_key(|(at, _)| *at);
    for (at, event) in events {
        let _ = write!(text, " At {}, {event}.", seconds(at));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(millis: u64) -> Duration {
        Duration::from_millis(millis)
    }

    fn rendezvous() -> Timeline {
        let mut timeline = Timeline::default();
        let (nurse, lab) = (timeline.lane("nurse"), timeline.lane("lab"));
        timeline.said("--- part one", ms(0));
        timeline.said("nurse: holding it out", ms(0));
        timeline.records.push(Record::Bar {
            lane: nurse,
            activity: Activity::Waiting,
            label: "holds P-001's sample out".into(),
            from: ms(0),
            to: Some(ms(1_500)),
            cut: false,
        });
        timeline.records.push(Record::Handoff {
            from: nurse,
            to: lab,
            label: "P-001".into(),
            at: ms(1_500),
        });
        timeline.records.push(Record::Mark {
            lane: lab,
            label: "gave up".into(),
            at: ms(1_500),
        });
        timeline.records.push(Record::Mark {
            lane: lab,
            label: "lost <1>".into(),
            at: ms(1_600),
        });
        timeline.end = Some(ms(4_500));
        timeline
    }

    #[test]
    fn say_lines_tick_their_actor_and_dashes_open_a_part() {
        let mut timeline = Timeline::default();
        timeline.said("nurse: ready", ms(0));
        timeline.said("--- the fix", ms(100));
        timeline.said("no colon here", ms(200));
        timeline.said("+12 MB: 13377 bytes (varies by machine)", ms(300));
        assert_eq!(timeline.lanes, ["nurse", "+12 MB"]);
        assert_eq!(
            timeline.records[1],
            Record::Part { caption: "the fix".into(), at: ms(100) }
        );
        assert_eq!(
            timeline.records[2],
            Record::Tick { lane: 1, line: None, at: ms(300) }
        );
        timeline.fixed_lanes = true;
        timeline.said("heartbeat 3: stored", ms(400));
        assert_eq!(
            timeline.lanes.len(),
            2,
            "fixed lanes take no new actor from say!"
        );
        timeline.lane("handler");
        timeline.said("handler P-001: gave up", ms(500));
        timeline.said("handlers: all gone", ms(600));
        let tick = Record::Tick {
            lane: 2,
            line: Some("handler P-001: gave up".into()),
            at: ms(500),
        };
        assert_eq!(
            timeline.records[3..],
            [tick],
            "only the first line ticks `handler`"
        );
    }

    /// The numbers after `key="` in every element of `svg` that has `has`.
    fn attributes(svg: &str, has: &str, key: &str) -> Vec<f64> {
        svg.lines()
            .filter(|line| line.contains(has))
            .filter_map(|line| {
                let value = line.split(&format!("{key}=\"")).nth(1)?;
                let end = value.find(|c: char| c != '.' && !c.is_ascii_digit())?;
                value[..end].parse().ok()
            })
            .collect()
    }

    #[test]
    fn an_arrow_stops_short_of_a_diamond_in_its_way() {
        // rendezvous(): P-001 handed to the lab at 1.5 s, when the lab's
        // "gave up" diamond is there too.
        let svg = render("arrow", &rendezvous());
        // The hand-off's arrow has a tooltip; the key's has none.
        let arrow = "marker-end=\"url(#arrow)\"><title>";
        let [arrow_end] = attributes(&svg, arrow, "y2")[..] else {
            panic!("one arrow in {svg}")
        };
        // A lane's diamond starts at its top point: `d="Mx,y l8,8 l-8,8 …"`.
        let tops: Vec<f64> = svg
            .lines()
            .filter(|line| line.contains(" l8,8 l-8,8"))
            .filter_map(|line| line.split("d=\"M").nth(1))
            .filter_map(|d| d.split([',', ' ']).nth(1)?.parse().ok())
            .collect();
        let gap = tops.iter().map(|top| top - arrow_end).fold(f64::MAX, f64::min);
        assert!(gap >= 4.0, "the arrowhead ends {gap} px above a diamond");
    }

    #[test]
    fn a_moment_on_a_cut_off_bar_is_its_cross_and_its_label() {
        let mut timeline = Timeline::default();
        let lane = timeline.lane("intake loop");
        timeline.records.push(Record::Bar {
            lane,
            activity: Activity::Working,
            label: "checking P-003".into(),
            from: ms(800),
            to: Some(ms(1_000)),
            cut: true,
        });
        timeline.records.push(Record::Mark {
            lane,
            label: "P-003 lost".into(),
            at: ms(1_000),
        });
        timeline.end = Some(ms(2_000));
        let svg = render("cut", &timeline);
        assert!(svg.contains(">P-003 lost</text>"), "{svg}");
        let diamonds =
            svg.lines().filter(|line| line.contains(" l8,8 l-8,8")).count();
        assert_eq!(diamonds, 0, "a diamond on the cross: {svg}");
    }

    #[test]
    fn the_picture_is_static_labelled_and_escaped() {
        let svg = render("Lesson 01 & co", &rendezvous());
        assert!(svg.starts_with("<svg ") && svg.ends_with("</svg>\n"));
        assert!(svg.contains("<title id=\"title\">Lesson 01 &amp; co</title>"));
        assert!(svg.contains("At 1.5 s, nurse hands P-001 to lab."), "{svg}");
        assert!(svg.contains("lost &lt;1&gt;"));
        assert!(!svg.contains("<script"));
        assert!(svg.contains(">4 s</text>"), "the axis reaches the lesson's end");
        assert_eq!(
            svg,
            render("Lesson 01 & co", &rendezvous()),
            "same input, same bytes"
        );
    }

    #[test]
    fn worker_threads_record_at_their_parts_start_and_never_panic() {
        // The only test that records: other tests' `say!` lines could land
        // in it, so it looks only at its own lanes.
        start_recording();
        crate::block_on(crate::Clock::Paused, async {
            let store =
                working("cut lane", "stores").during(tokio::time::sleep(ms(5_000)));
            let aborted = tokio::spawn(store);
            let done =
                working("cut lane", "stores").during(tokio::time::sleep(ms(500)));
            tokio::spawn(done);
            tokio::time::sleep(ms(1_500)).await;
            aborted.abort();
            crate::on_worker_threads(2, || async {
                let stores = (0..8).map(|n| {
                    tokio::spawn(async move {
                        let _bar = working("worker lane", format!("report {n}"));
                        mark("worker lane", format!("stored {n}"));
                    })
                });
                for store in stores.collect::<Vec<_>>() {
                    store.await.expect("no panic");
                }
            })
            .await;
            // Back on the lesson's thread, and on its blocking pool.
            tokio::time::sleep(ms(500)).await;
            mark("pool lane", "on the lesson thread");
            tokio::task::spawn_blocking(|| mark("pool lane", "on the pool"))
                .await
                .expect("no panic");
        });
        let timeline = finish();
        let lane = |name: &str| timeline.lanes.iter().position(|lane| lane == name);
        let (workers, pool) = (lane("worker lane"), lane("pool lane"));
        let cut_lane = lane("cut lane");
        let cuts: Vec<_> = (timeline.records.iter())
            .filter_map(|record| match record {
                Record::Bar { lane, from, to, cut, .. }
                    if Some(*lane) == cut_lane =>
                {
                    Some((*from, *to, *cut))
                }
                _ => None,
            })
            .collect();
        // Aborted mid-way: cut off. Done: not.
        let (aborted, done) =
            ((ms(0), Some(ms(1_500)), true), (ms(0), Some(ms(500)), false));
        assert_eq!(cuts, [aborted, done]);
        let mut marks = Vec::new();
        for record in &timeline.records {
            match record {
                Record::Mark { lane, at, .. } if Some(*lane) == workers => {
                    marks.push(("worker", *at))
                }
                Record::Mark { lane, at, .. } if Some(*lane) == pool => {
                    marks.push(("pool", *at))
                }
                Record::Bar { lane, from, to, .. } if Some(*lane) == workers => {
                    assert_eq!((*from, *to), (ms(1_500), Some(ms(1_500))));
                }
                _ => {}
            }
        }
        let mut wanted = vec![("worker", ms(1_500)); 8];
        wanted.extend([("pool", ms(2_000)); 2]);
        assert_eq!(marks, wanted);
    }

    #[test]
    fn a_thread_leaves_its_worker_part_for_the_lesson_clock() {
        std::thread::spawn(|| {
            enter_worker_part(ms(1_500), std::time::Instant::now(), true);
            assert_eq!(worker_time(), Some(ms(1_500)));
            leave_worker_part();
            assert_eq!(worker_time(), None);
        })
        .join()
        .expect("no panic");
    }

    #[test]
    fn labels_that_would_collide_go_to_another_row() {
        let label = |x: f64| Label {
            anchor: x,
            x,
            width: 50.0,
            text: String::new(),
            bold: false,
            row: 0,
        };
        let mut labels = [label(100.0), label(120.0), label(200.0), label(140.0)];
        let rows = stack(&mut labels, 0.0, 700.0, &[]);
        assert_eq!(rows, 3);
        assert_eq!(labels.map(|label| label.row), [0, 1, 0, 2]);
        // Pushed back from the right edge, never past it.
        let mut late = [label(690.0)];
        stack(&mut late, 0.0, 700.0, &[]);
        assert_eq!(late[0].x, 650.0);
        // A line at a label's anchor moves it just right of the line, or
        // left if there is no room on the right...
        let mut crossed = [label(100.0), label(660.0)];
        stack(&mut crossed, 0.0, 700.0, &[100.0, 660.0]);
        assert_eq!(crossed.map(|label| label.x), [104.0, 606.0]);
        // ...but a line right of the anchor is never jumped over: the label
        // ends just before it (past a part's rule it would name the next part).
        let mut before = [label(100.0)];
        stack(&mut before, 0.0, 700.0, &[120.0]);
        assert_eq!(before[0].x, 66.0);
    }

    #[test]
    fn the_axis_steps_keep_ten_intervals_or_fewer() {
        assert_eq!(axis_step(4.5), 0.5);
        assert_eq!(axis_step(9.5), 1.0);
        assert_eq!(axis_step(14.0), 2.0);
        assert_eq!(seconds(ms(2_500)), "2.5 s");
        assert_eq!(seconds(ms(3_000)), "3 s");
        assert_eq!(fit("worker 1", NAMES), "worker 1");
        let cut = fit("paced instead, one every 0.2 s, and more", NAMES);
        assert!(cut.ends_with('…') && name_width(&cut) <= NAMES, "{cut}");
    }
}
