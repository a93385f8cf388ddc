// Lesson 11 in Go: a select loop that loses a report.
//
// The twin of lessons/src/bin/11_select.rs. A Go select case is one channel
// operation, so the trap's nearest Go form is a case fed by a goroutine
// started anew each turn: when the heartbeat wins, that goroutine holds a
// report nobody will take, blocked on its send for good (a leak, as in 03).
// The fixes are the same; Go's ticker drops missed ticks, as Skip does.
//
// Run: go run ./lessons/go/11_select      (go test ./lessons/go/11_select: fake clock)
package main

import (
	"fmt"
	"strings"
	"time"

	"async-clinic/lessons/go/clinic"
)

// How long a shift is, and checking one report.
const shift, check = 2_500 * time.Millisecond, 400 * time.Millisecond

func main() {
	clinic.Main(run)
}

func run() {
	nine := time.Now()
	clinic.Say("-- select on a fresh take-and-check goroutine each time round")
	shiftOf(lossyLoop, nine)
	clinic.Say("-- the same goroutine kept across turns of the loop")
	shiftOf(keptLoop, nine.Add(shift))
	clinic.Say("-- select on the queue only; the check in the case body")
	shiftOf(receiveOnlyLoop, nine.Add(2*shift))
}

// shiftOf runs loop on a queue of four reports, open until the shift is over.
func shiftOf(loop func(<-chan string, time.Time), start time.Time) {
	queue := make(chan string, 8)
	for patient := 1; patient <= 4; patient++ {
		queue <- fmt.Sprintf("P-%03d", patient)
	}
	loop(queue, start)
	close(queue)
}

// ANCHOR: lossy
func lossyLoop(queue <-chan string, start time.Time) {
	heartbeat := time.NewTicker(time.Second)
	defer heartbeat.Stop()
	shiftOver := time.After(time.Until(start.Add(shift)))
	var stored []string
	for {
		select {
		case <-shiftOver:
			tally(stored)
			return
		case due := <-heartbeat.C:
			beat(due, stored)
		// Started anew each turn; if another case wins, it keeps its report.
		case report := <-takeAndCheck(queue):
			stored = append(stored, report)
		}
	}
}

// ANCHOR_END: lossy

// ANCHOR: take_and_check
// takeAndCheck takes the next report and checks it (0.4 s), in a goroutine
// that hands it over on the channel returned, or waits forever to.
func takeAndCheck(queue <-chan string) <-chan string {
	checked := make(chan string)
	go func() {
		report, open := <-queue
		if !open {
			return
		}
		time.Sleep(check)
		checked <- report
	}()
	return checked
}

// ANCHOR_END: take_and_check

// ANCHOR: kept_future
func keptLoop(queue <-chan string, start time.Time) {
	heartbeat := time.NewTicker(time.Second)
	defer heartbeat.Stop()
	shiftOver := time.After(time.Until(start.Add(shift)))
	var stored []string
	// One goroutine before the loop; a new one once it has handed over.
	next := takeAndCheck(queue)
	for {
		select {
		case <-shiftOver:
			tally(stored)
			return
		case due := <-heartbeat.C:
			beat(due, stored)
		case report := <-next:
			stored = append(stored, report)
			next = takeAndCheck(queue)
		}
	}
}

// ANCHOR_END: kept_future

// ANCHOR: recv_only
func receiveOnlyLoop(queue <-chan string, start time.Time) {
	heartbeat := time.NewTicker(time.Second)
	defer heartbeat.Stop()
	shiftOver := time.After(time.Until(start.Add(shift)))
	var stored []string
	for {
		// A select picks at random among the cases ready; a heartbeat due
		// while a report was checked goes first, like tokio's `biased;`.
		select {
		case due := <-heartbeat.C:
			beat(due, stored)
			continue
		default:
		}
		select {
		case <-shiftOver:
			tally(stored)
			return
		case due := <-heartbeat.C:
			beat(due, stored)
		// A receive takes a report or nothing; nothing races the body.
		case report := <-queue:
			time.Sleep(check)
			stored = append(stored, report)
		}
	}
}

// ANCHOR_END: recv_only

func beat(due time.Time, stored []string) {
	dueAt := (clinic.Elapsed() - time.Since(due)).Seconds()
	clinic.Say("heartbeat (due %.1f s): stored %s", dueAt, strings.Join(stored, " "))
}

func tally(stored []string) {
	clinic.Say("shift over: %d stored, %d lost", len(stored), 4-len(stored))
}
