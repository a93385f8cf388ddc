// Package clinictest runs a Go twin on a fake clock and checks its transcript.
//
// A twin's test is one call:
//
//	func TestTranscript(t *testing.T) { clinictest.Transcript(t, run) }
//
// [Transcript] runs the twin's run function inside a testing/synctest bubble,
// where time.Sleep, time.After and timers use a fake clock that jumps to the
// next timer as soon as every goroutine in the bubble is blocked, and compares
// the lines it printed, stamps included, with ../transcripts/NN_name.txt (the
// twin's directory name). A 7.5 s lesson takes a few milliseconds.
//
// To write the transcript after changing a twin (then read the diff!):
//
//	go test ./lessons/go/03_leak -args -update
package clinictest

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"async-clinic/lessons/go/clinic"
)

var update = flag.Bool("update", false, "write the twin's transcript instead of checking it")

// How synctest says a bubble ended with goroutines blocked for good.
const (
	blockedAfterReturn = "main bubble goroutine has exited but blocked goroutines remain"
	allBlocked         = "all goroutines in bubble are blocked"
)

// An Option says how a twin is expected to end, when not every goroutine it
// started has ended by the time run returns.
type Option func(*ending)

type ending struct {
	leftBlocked int
	deadlocks   bool
}

// LeftBlocked says that run returns with n goroutines it started still
// blocked, for good: a leak the lesson shows (03). On the real clock the
// process exits and takes them with it; in the bubble they stay blocked, so
// synctest reports them when the test ends. Transcript checks that exactly n
// are left and that this is what synctest reported, and fails otherwise.
func LeftBlocked(n int) Option {
	return func(e *ending) { e.leftBlocked = n }
}

// Deadlocks says that run never returns: every goroutine, the lesson's own
// included, ends up blocked. On the real clock the Go runtime aborts with
// "fatal error: all goroutines are asleep - deadlock!"; in the bubble
// synctest reports it instead, and Transcript checks that it did.
func Deadlocks() Option {
	return func(e *ending) { e.deadlocks = true }
}

// Transcript runs run on the fake clock and compares what it printed with
// the twin's checked transcript.
func Transcript(t *testing.T, run func(), options ...Option) {
	t.Helper()
	var want ending
	for _, option := range options {
		option(&want)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	lesson := filepath.Base(wd)
	path := filepath.Join("..", "transcripts", lesson+".txt")

	// One P, as clinic.Main sets for the real clock.
	previous := runtime.GOMAXPROCS(1)
	t.Cleanup(func() { runtime.GOMAXPROCS(previous) })

	var out lockedBuffer
	var returned atomic.Bool
	var left atomic.Int64
	reason := inBubble(t, func() {
		clinic.StartCounting(&out, bubbleGoroutines)
		run()
		returned.Store(true)
		// Let every goroutine still running get as far as it can.
		synctest.Wait()
		left.Store(int64(clinic.Alive()))
	})

	switch {
	case want.deadlocks:
		if returned.Load() || !strings.Contains(reason, allBlocked) {
			t.Errorf("%s: expected every goroutine to end up blocked (%q); "+
				"run returned: %v, synctest said: %q",
				lesson, allBlocked, returned.Load(), reason)
		}
	case want.leftBlocked > 0:
		if int(left.Load()) != want.leftBlocked ||
			!strings.Contains(reason, blockedAfterReturn) {
			t.Errorf("%s: expected %d goroutines left blocked (%q); "+
				"found %d, synctest said: %q",
				lesson, want.leftBlocked, blockedAfterReturn, left.Load(), reason)
		}
	case reason != "" || left.Load() != 0:
		t.Errorf("%s: %d goroutines outlived run; synctest said: %q",
			lesson, left.Load(), reason)
	}

	got := out.String()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	wantText, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%s has no transcript (write it with -args -update): %v", lesson, err)
	}
	if problem := Difference(got, string(wantText)); problem != "" {
		t.Errorf("%s: %s", lesson, problem)
	}
}

// bubbleGoroutines counts the goroutines of the caller's synctest bubble.
// A goroutine dump marks each one "synctest bubble N" (Go 1.25 and newer);
// the caller's own goroutine comes first in it.
func bubbleGoroutines() int {
	dump := make([]byte, 64<<10)
	for {
		n := runtime.Stack(dump, true)
		if n < len(dump) {
			dump = dump[:n]
			break
		}
		dump = make([]byte, 2*len(dump))
	}
	headers := regexp.MustCompile(`(?m)^goroutine \d+ \[.*(synctest bubble \d+)\]:$`).
		FindAllSubmatch(dump, -1)
	if len(headers) == 0 {
		panic("clinictest: the lesson runs outside a synctest bubble")
	}
	mine, count := string(headers[0][1]), 0
	for _, header := range headers {
		if string(header[1]) == mine {
			count++
		}
	}
	return count
}

// inBubble runs f in a synctest bubble and returns what synctest reported
// when the bubble ended with goroutines blocked ("" if it did not). Any
// other panic is passed on.
func inBubble(t *testing.T, f func()) (reason string) {
	defer func() {
		caught := recover()
		if caught == nil {
			return
		}
		reason = fmt.Sprint(caught)
		if !strings.Contains(reason, blockedAfterReturn) &&
			!strings.Contains(reason, allBlocked) {
			panic(caught)
		}
	}()
	synctest.Test(t, func(*testing.T) { f() })
	return ""
}

// A line that ends in this carries a measured figure: its digits are masked
// before comparing, and only on that line (as in lessons/tests/transcripts.rs).
const machineDependent = "(varies by machine)"

// Difference is "" if got has want's lines; otherwise it names the first
// line that differs, then shows both texts in full.
//
// Lines that share a stamp may come in any order. Go does not order
// goroutines that run at the same instant: when one hands a value to
// another, both go on at once, and even on one P the runtime may preempt the
// one that woke the other before it prints. What one goroutine prints stays
// in its order, and every line's text and stamp must match exactly.
func Difference(got, want string) string {
	gotLines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	wantLines := strings.Split(strings.TrimSuffix(want, "\n"), "\n")
	for start := 0; start < max(len(gotLines), len(wantLines)); {
		end := start + 1
		for end < len(wantLines) && stamp(wantLines[end]) == stamp(wantLines[start]) {
			end++
		}
		if end > len(gotLines) || end > len(wantLines) ||
			!sameLines(gotLines[start:end], wantLines[start:end]) {
			return fmt.Sprintf("line %d differs\n  expected: %s\n  actual:   %s\n"+
				"--- expected\n%s--- actual\n%s",
				start+1, lineAt(wantLines, start), lineAt(gotLines, start), want, got)
		}
		start = end
	}
	return ""
}

// sameLines reports whether got holds want's lines, in any order.
func sameLines(got, want []string) bool {
	left := map[string]int{}
	for _, line := range want {
		left[masked(line)]++
	}
	for _, line := range got {
		left[masked(line)]--
	}
	for _, n := range left {
		if n != 0 {
			return false
		}
	}
	return true
}

// stamp is a line's "[ 2.0s]", or the whole line if it has none.
func stamp(line string) string {
	if end := strings.Index(line, "s] "); strings.HasPrefix(line, "[") && end > 0 {
		return line[:end+2]
	}
	return line
}

func lineAt(lines []string, i int) string {
	if i < len(lines) {
		return fmt.Sprintf("%q", lines[i])
	}
	return "(no line: it ends here)"
}

// masked masks the digits of a machine-dependent line; other lines are kept.
func masked(line string) string {
	if !strings.HasSuffix(line, machineDependent) {
		return line
	}
	return strings.Map(func(r rune) rune {
		if '0' <= r && r <= '9' {
			return '#'
		}
		return r
	}, line)
}

// lockedBuffer collects the lines of goroutines that print at once.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
