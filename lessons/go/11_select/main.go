// Lesson 11 in Go: a select loop that loses a report.
//
// The twin of lessons/src/bin/11_select.rs. A Go select case is one channel
// operation: a receive takes a report or takes nothing, and a case's body
// runs to its end, so the Rust lesson's trap has no direct Go form. Its
// nearest twin is a case whose channel comes from a goroutine started anew
// each time round: when the heartbeat wins, that goroutine already holds a
// report and nobody will ever take it. It blocks on its send for good, a leak
// as in lesson 03, and the report is stored nowhere. The fixes are the same:
// keep the one goroutine across turns, or receive from the queue in the
// select and check in the case body. Go's ticker drops the ticks missed
// meanwhile, as tokio's interval does with MissedTickBehavior::Skip.
//
// Run: go run ./lessons/go/11_select      (go test ./lessons/go/11_select: fake clock)
package main

import (
	"fmt"
	"strings"
	"time"

	"async-clinic/lessons/go/clinic"
)

const (
	shift = 2_500 * time.Millisecond
	check = 400 * time.Millisecond
)

func main() {
	clinic.Main(run)
}

func run() {
	nine := time.Now()
	clinic.Say("-- select on a fresh take-and-check goroutine each time round")
	desk, queue := fourReports()
	lossyLoop(queue, nine)
	close(desk)
	clinic.Say("-- the same goroutine kept across turns of the loop")
	desk, queue = fourReports()
	keptLoop(queue, nine.Add(shift))
	close(desk)
	clinic.Say("-- select on the queue only; the check in the case body")
	desk, queue = fourReports()
	receiveOnlyLoop(queue, nine.Add(2*shift))
	close(desk)
}

// fourReports is a queue with four reports in it at 9 a.m.; the desk stays
// open for more until the shift's loop is over.
func fourReports() (chan<- string, <-chan string) {
	queue := make(chan string, 8)
	for patient := 1; patient <= 4; patient++ {
		queue <- fmt.Sprintf("P-%03d", patient)
	}
	return queue, queue
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
// takeAndCheck takes the next report in a goroutine of its own and checks
// it: 0.4 s waiting on the rules service. It hands the report over on the
// channel it returns, or waits forever for someone to take it.
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
	// One goroutine, started before the loop; a new one only when it has
	// handed its report over.
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
		// A receive takes a report or it does not. The check runs in the
		// body, which nothing races.
		case report := <-queue:
			time.Sleep(check)
			stored = append(stored, report)
		}
	}
}

// ANCHOR_END: recv_only

func beat(due time.Time, stored []string) {
	dueAt := clinic.Elapsed() - time.Since(due)
	clinic.Say("heartbeat (due %.1f s): stored %s",
		dueAt.Seconds(), strings.Join(stored, " "))
}

func tally(stored []string) {
	clinic.Say("shift over: %d stored, %d lost", len(stored), 4-len(stored))
}
