package engine

import "container/heap"

// readyQueue holds the targets whose deps have finished, longest chain of
// dependents first, then by name. On a CI machine -j is the CPU count
// (two, often) while a build mostly waits on the engine: with a plain
// queue in name order an `image` build took a worker ahead of
// `test-image`, which the tests, the push and the deploy wait for.
type readyQueue struct {
	items  []int32
	height []int32 // per target: targets on its longest chain of dependents, itself included
}

func newReadyQueue(s *schedule) *readyQueue {
	return &readyQueue{height: chainHeights(s)}
}

// chainHeights: 1 for a target nothing in the schedule waits on, else one
// more than its highest dependent. Targets are visited from those with no
// dependents up, without recursion (a chain may be thousands long).
func chainHeights(s *schedule) []int32 {
	n := len(s.names)
	h := make([]int32, n)
	left := make([]int32, n) // per target: dependents whose height is unknown
	var stack []int32
	for i := range n {
		left[i] = s.from[i+1] - s.from[i]
		if left[i] == 0 {
			stack = append(stack, int32(i))
		}
	}
	// deps of target i, to walk the edges backwards.
	deps := make([][]int32, n)
	for j := range n {
		for _, d := range s.waiting[s.from[j]:s.from[j+1]] {
			deps[d] = append(deps[d], int32(j))
		}
	}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		h[i]++
		for _, j := range deps[i] {
			h[j] = max(h[j], h[i])
			if left[j]--; left[j] == 0 {
				stack = append(stack, j)
			}
		}
	}
	return h
}

func (q *readyQueue) add(i int32) { heap.Push(q, i) }
func (q *readyQueue) next() int32 { return heap.Pop(q).(int32) }
func (q *readyQueue) len() int    { return len(q.items) }

// heap.Interface.
func (q *readyQueue) Len() int { return len(q.items) }
func (q *readyQueue) Less(a, b int) bool {
	x, y := q.items[a], q.items[b]
	if q.height[x] != q.height[y] {
		return q.height[x] > q.height[y]
	}
	return x < y
}
func (q *readyQueue) Swap(a, b int) { q.items[a], q.items[b] = q.items[b], q.items[a] }
func (q *readyQueue) Push(x any)    { q.items = append(q.items, x.(int32)) }
func (q *readyQueue) Pop() any {
	last := q.items[len(q.items)-1]
	q.items = q.items[:len(q.items)-1]
	return last
}
