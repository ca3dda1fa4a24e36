package dynamostate

import (
	"sync"
	"testing"
	"time"

	"github.com/zoomwatch/zoomwatch/internal/awstest"
)

// clock is a settable clock shared by the tables of one test.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// newTable returns a Table on a fresh state table in the emulator, with clk as its clock.
func newTable(t *testing.T, clk *clock) *Table {
	t.Helper()
	db := awstest.DynamoDB(t)
	name := awstest.StateTable(t, db)
	tbl, err := New(db, Config{Name: name, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return tbl
}
