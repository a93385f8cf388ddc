// Lesson 05 in Go: a goroutine waiting for itself, and who notices.
//
// The twin of lessons/src/bin/05_deadlock.rs. A nurse drops a patient's
// report into the hand-to-hand tube from lesson 01 and means to take it out
// herself a moment later; the only receiver is her own next line, so she
// waits forever. A watchdog gives up on her after 2 s, as in Rust, and two
// fixes run under it.
//
// Where Go parts ways: it cannot abort a goroutine, so she stays blocked to
// the end. And the Go runtime stops a program when every goroutine is
// blocked and no timer is set (runtime.checkdead): the watchdog's own timer
// kept it from stepping in the first time. The twin ends by making the same mistake in main, with no
// watchdog, and the runtime aborts: "fatal error: all goroutines are asleep -
// deadlock!", exit status 2.
//
// Run: go run ./lessons/go/05_deadlock      (go test ./lessons/go/05_deadlock: fake clock)
package main

import (
	"time"

	"async-clinic/lessons/go/clinic"
)

// How long the watchdog lets a hand-off take before calling it stuck.
const patience = 2 * time.Second

func main() {
	clinic.Main(run)
}

// ANCHOR: lesson
func run() {
	clinic.Say("--- the bug: one nurse, a tube with no room, both ends in her hands")
	// ANCHOR: watchdog
	if !finishesWithin(patience, handToMyself) {
		waited, alive := patience.Seconds(), clinic.Alive()
		clinic.Say("watchdog: the nurse is still not done after %.1f s; "+
			"tasks alive: %d", waited, alive)
		clinic.Say("watchdog: diagnosis: her send waits for a receiver, " +
			"the receiver is her next line")
		// The runtime's deadlock check gives up while any timer is set.
		clinic.Say("watchdog: Go stops a program whose goroutines all sleep, " +
			"unless a timer is set: mine was")
		// Go has no way to stop a goroutine from outside: she stays blocked.
		clinic.Say("watchdog: Go cannot abort the nurse; tasks alive: %d",
			clinic.Alive())
	}
	// ANCHOR_END: watchdog

	clinic.Say("--- fix 1: the lab receives, in a task of its own")
	fixed := finishesWithin(patience, receiveInAnotherGoroutine)
	clinic.Say("watchdog: fix 1 finished in time? %t", fixed)

	clinic.Say("--- fix 2: a tube with room for one report")
	fixed = finishesWithin(patience, bufferOfOne)
	clinic.Say("watchdog: fix 2 finished in time? %t", fixed)

	// ANCHOR: no_watchdog
	clinic.Say("--- the bug again, in main, with no watchdog")
	// Every goroutine now sleeps with no timer set: the runtime aborts.
	handToMyself()
	// ANCHOR_END: no_watchdog
}

// ANCHOR_END: lesson

// finishesWithin runs work in a goroutine of its own and reports whether it
// finished within patience: the twin of tokio::time::timeout.
func finishesWithin(patience time.Duration, work func()) bool {
	done := make(chan struct{})
	go func() {
		work()
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-time.After(patience):
		return false
	}
}

// ANCHOR: deadlock
// The bug: send, then receive, on an unbuffered channel, in one goroutine.
func handToMyself() {
	tube := make(chan string)
	clinic.Say("nurse: putting P-001's report in the tube, " +
		"I'll take it out myself")
	// The send finishes only when a receiver takes the report. The only
	// receiver is the line below, which this goroutine never reaches.
	tube <- "P-001's report"
	clinic.Say("nurse: this line is never printed")
	<-tube
}

// ANCHOR_END: deadlock

// ANCHOR: fix_task
// Fix 1: keep the channel unbuffered, but let a second goroutine receive.
func receiveInAnotherGoroutine() {
	tube := make(chan string)
	labDone := make(chan struct{})
	go func() {
		defer close(labDone)
		// The lab is busy for half a second: the nurse waits, not forever.
		time.Sleep(clinic.Ms(500))
		clinic.Say("lab: reaching into the tube")
		report := <-tube
		clinic.Say("lab: took %s", report)
	}()
	clinic.Say("nurse: holding P-001's report out to the tube")
	since := time.Now()
	tube <- "P-001's report"
	held := clinic.HalfSeconds(time.Since(since))
	clinic.Say("nurse: handed it over (held it %.1f s)", held)
	<-labDone
}

// ANCHOR_END: fix_task

// ANCHOR: fix_buffer
// Fix 2: one slot of room, so the send finishes before anyone receives.
func bufferOfOne() {
	tube := make(chan string, 1)
	tube <- "P-001's report"
	clinic.Say("nurse: P-001's report is in the tube's one slot; my send is done")
	report := <-tube
	clinic.Say("nurse: took %s back out myself", report)
}

// ANCHOR_END: fix_buffer
