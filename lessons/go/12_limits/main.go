// Lesson 12 in Go: limits. A semaphore in front of the database, a pace for SMS.
//
// The twin of lessons/src/bin/12_limits.rs. The database refuses a 4th
// connection. Go's semaphore is a buffered channel of 3 empty structs: send
// to take a permit (waiting, first come first served, while all are taken),
// receive to give it back. A ticker paces the SMS gateway's 5 a second, and
// drops the ticks a slow receiver missed, as tokio's Skip does.
//
// Run: go run ./lessons/go/12_limits      (go test ./lessons/go/12_limits: fake clock)
package main

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"async-clinic/lessons/go/clinic"
)

// What the database takes at once, and the SMS gateway a second.
const connections, smsPerSecond = 3, 5

func main() {
	clinic.Main(run)
}

// ANCHOR: lesson
func run() {
	start := time.Now()
	clinic.Say("--- six reports at once, a task each, no limit")
	stored := storeAll(math.MaxInt)
	clinic.Say("no limit: %d of 6 stored; the other patients got an error", stored)
	clinic.Say("--- the same six; each task first takes one of %d permits",
		connections)
	stored = storeAll(connections)
	clinic.Say("a semaphore of %d: %d of 6 stored", connections, stored)
	clinic.Say("--- 8 SMS reminders; the gateway takes %d a second", smsPerSecond)
	gateway, sent := newGateway(), 0
	for range 8 {
		if gateway.trySend() {
			sent++
		}
	}
	refused := 8 - sent
	clinic.Say("all at once: %d sent, %d refused (429 Too Many Requests)",
		sent, refused)
	every := time.Second / smsPerSecond
	pacedReminders(start.Add(clinic.Ms(2_800)), every, 8)
}

// ANCHOR_END: lesson

// ANCHOR: store
// storeAll stores six reports, a goroutine each, each first taking one of
// limit permits: a channel of empty structs, which holds no buffer at all.
func storeAll(limit int) int {
	permits := make(chan struct{}, limit)
	var open, stored atomic.Int64
	var tasks sync.WaitGroup
	for n := 1; n <= 6; n++ {
		// Writes of 0.4, 0.6, 1.0, 0.4, ... s: no two events 0.2 s apart.
		write := clinic.Ms([]int{400, 600, 1_000}[(n-1)%3])
		started := make(chan struct{})
		tasks.Go(func() {
			close(started)
			if len(permits) == cap(permits) {
				clinic.Say("P-%03d: no permit free, waits in line "+
					"(no thread held)", n)
			}
			permits <- struct{}{}
			// Given back when the goroutine ends; the first in line takes it.
			defer func() { <-permits }()
			if store(&open, n, write) {
				stored.Add(1)
			}
		})
		// Each runs up to its first wait before the next starts, as tokio's
		// tasks do in the order they were spawned.
		<-started
	}
	tasks.Wait()
	return int(stored.Load())
}

// store is one report's write. The database refuses a connection over
// connections, the way PostgreSQL answers "sorry, too many clients already".
func store(open *atomic.Int64, n int, write time.Duration) bool {
	inUse := open.Add(1)
	if inUse > connections {
		open.Add(-1)
		clinic.Say("P-%03d: refused: too many connections (%d in use)",
			n, inUse-1)
		return false
	}
	clinic.Say("P-%03d: connected (%d in use)", n, inUse)
	time.Sleep(write)
	open.Add(-1) // the connection closes
	return true
}

// ANCHOR_END: store

// ANCHOR: paced
// pacedReminders sends count reminders, one a tick from first: how many fail?
func pacedReminders(first time.Time, every time.Duration, count int) int {
	gateway, refused := newGateway(), 0
	time.Sleep(time.Until(first))
	// A tick missed while a send was slow is dropped, not delivered late
	// with the next: a burst is what gets refused.
	ticks := time.NewTicker(every)
	defer ticks.Stop()
	clinic.Say("paced instead, one every %.1f s:", every.Seconds())
	for n := 1; n <= count; n++ {
		if n > 1 {
			<-ticks.C
		}
		answer := "sent"
		if !gateway.trySend() {
			answer = "refused"
			refused++
		}
		clinic.Say("  reminder %d: %s", n, answer)
	}
	return refused
}

// ANCHOR_END: paced

// gateway is the SMS gateway's rule, a token bucket: it holds 5 tokens and
// refills 5 a second; a message that finds no whole token is refused.
type gateway struct {
	tokens    float64
	countedAt time.Time
}

func newGateway() *gateway {
	return &gateway{smsPerSecond, time.Now()}
}

func (g *gateway) trySend() bool {
	elapsed := time.Since(g.countedAt).Seconds()
	g.tokens = min(g.tokens+elapsed*smsPerSecond, smsPerSecond)
	g.countedAt = time.Now()
	if g.tokens < 1 {
		return false
	}
	g.tokens--
	return true
}
