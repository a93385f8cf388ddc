// Package clinic is the Go twins' harness: one clock, one way to print, so a
// twin's file holds only its lesson.
//
// A twin's main is one line, clinic.Main(run). [Main] starts the clock and
// calls run on the real clock, so a 5 s query takes 5 s:
//
//	go run ./lessons/go/03_leak
//
// Its test hands the same run to clinictest, which calls [Start] inside a
// testing/synctest bubble, where time is fake: when every goroutine in the
// bubble is blocked, the clock jumps to the next timer. The twin prints the
// same transcript, at once.
//
// Lines are printed with [Say], stamped with the time since the lesson started,
// rounded to 0.1 s, exactly as the Rust lessons' say! does:
//
//	[ 2.0s] handler P-001: gave up after 2 s, told the patient to retry
package clinic

import (
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"sync"
	"time"
)

// The lesson's clock and output, set by Start.
var (
	mu       sync.Mutex
	out      io.Writer = os.Stdout
	start    time.Time
	count    = runtime.NumGoroutine
	baseline int
)

// Main runs a twin on the real clock, printing to stdout. A twin takes no
// flags: its fake-clock run is its test.
//
// Main gives the program one P (GOMAXPROCS 1), as the Rust lessons run on a
// current-thread runtime: a goroutine runs until it blocks, and one it wakes
// waits its turn, so lines that share a stamp come in the order the code sets,
// on every run. (The goroutines are still preempted after 10 ms of running.)
func Main(run func()) {
	if len(os.Args) > 1 {
		fmt.Fprintf(os.Stderr, "%s: unknown argument %q\n\n"+
			"usage: go run ./lessons/go/NN_name   (real clock)\n"+
			"       go test ./lessons/go/NN_name  (fake clock: the same transcript, at once)\n",
			os.Args[0], os.Args[1])
		os.Exit(2)
	}
	runtime.GOMAXPROCS(1)
	Start(os.Stdout)
	run()
}

// Start starts the lesson's clock now and sends its lines to w. It also
// notes how many goroutines exist, for [Alive]. Call it on the goroutine
// that runs the lesson, before the lesson starts any goroutine.
func Start(w io.Writer) {
	StartCounting(w, runtime.NumGoroutine)
}

// StartCounting is [Start] with another way to count goroutines: a test
// process has goroutines of its own that come and go, so clinictest counts
// only those of the lesson's synctest bubble.
func StartCounting(w io.Writer, goroutines func() int) {
	mu.Lock()
	defer mu.Unlock()
	out = w
	start = time.Now()
	count = goroutines
	baseline = count()
}

// Elapsed is the time since the lesson started.
func Elapsed() time.Duration {
	mu.Lock()
	defer mu.Unlock()
	return time.Since(start)
}

// Say prints one transcript line stamped with [Elapsed]:
// Say("lab: took %s", report) prints "[ 1.5s] lab: took P-001".
func Say(format string, args ...any) {
	line := Stamp(Elapsed()) + " " + fmt.Sprintf(format, args...) + "\n"
	mu.Lock()
	defer mu.Unlock()
	io.WriteString(out, line)
}

// Stamp is "[ 2.0s]": d rounded to a tenth of a second.
func Stamp(d time.Duration) string {
	return fmt.Sprintf("[%4.1fs]", d.Seconds())
}

// HalfSeconds is a wait the lesson measured, in seconds, to the nearest half
// second. Every wait the lessons print is a whole or half number of seconds;
// on the real clock a timer fires a little late, never early, and rounding
// keeps a timer up to 0.25 s late from changing what the line says.
func HalfSeconds(waited time.Duration) float64 {
	return math.Round(waited.Seconds()*2) / 2
}

// Ms is a duration in milliseconds, so timelines read as numbers.
func Ms(n int) time.Duration {
	return time.Duration(n) * time.Millisecond
}

// Alive is how many goroutines the lesson has started that have not ended:
// runtime.NumGoroutine() less the goroutines that were there at Start (on
// the real clock just main). It is the twin of the Rust lessons'
// alive_tasks(), which counts spawned tasks and not the lesson's own body.
//
// Go has no join: a goroutine that has said it is done (close(done),
// wg.Done()) still counts until it has returned, a moment later. So Alive
// first yields once. On the one P that Main and clinictest set, the yield
// puts the caller behind every goroutine that is ready to run, so one that
// has said it is done returns before the count is taken.
func Alive() int {
	runtime.Gosched()
	mu.Lock()
	defer mu.Unlock()
	return count() - baseline
}
