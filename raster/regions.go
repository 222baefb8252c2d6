package raster

// labelSparse labels the 8-connected regions of equal change class among the change
// pixels of a w x h window, given in raster order (idx ascending, cls their classes, 1..254)
// with a one-pass union-find over provisional labels (Rosenfeld & Pfaltz 1966), holding
// only two rows of labels: the work scales with the change pixels, not the window.
// Regions smaller than minPixels are dropped (the minimum mapping unit), and so are regions
// without a strong pixel (seed: weak pixels are kept only where they grow from one, the
// hysteresis of Canny 1986), except, with keepEdge, those touching the window's border (a
// chunk's region may continue next door). It returns each pixel's final label (0 =
// dropped; kept regions are numbered 1..n in the raster order of their first pixel) and
// each kept region's bounding box, size and strong pixels.
func labelSparse(idx []uint32, cls []uint8, strong []bool, w, h, minPixels int, keepEdge bool) ([]int32, []Component, []int, []int) {
	prov := make([]int32, len(idx)) // provisional label of each pixel
	parent := []int32{0}
	find := func(x int32) int32 {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	union := func(a, b int32) int32 {
		ra, rb := find(a), find(b)
		if ra == rb {
			return ra
		}
		if ra < rb { // the smaller (earlier) label stays the root: raster order of first pixels
			parent[rb] = ra
			return ra
		}
		parent[ra] = rb
		return rb
	}
	// Labels of the previous and current rows; class of each provisional label.
	prevRow, curRow := make([]int32, w), make([]int32, w)
	var labelCls []uint8 = []uint8{0}
	prevY, curY := -2, -1
	var prevStart, prevEnd, curStart int // pixel ranges of prevY and curY in idx
	advance := func(y, i int) {
		// Clear the previous row's entries, then shift.
		for _, j := range idx[prevStart:prevEnd] {
			prevRow[int(j)%w] = 0
		}
		if y == curY+1 {
			prevRow, curRow = curRow, prevRow
			prevY, prevStart, prevEnd = curY, curStart, i
		} else {
			for _, j := range idx[curStart:i] {
				curRow[int(j)%w] = 0
			}
			prevY, prevStart, prevEnd = -2, i, i
		}
		curY, curStart = y, i
	}
	for i, j := range idx {
		x, y := int(j)%w, int(j)/w
		if y != curY {
			advance(y, i)
		}
		c := cls[i]
		var l int32
		try := func(n int32) {
			if n == 0 || labelCls[n] != c {
				return
			}
			if l == 0 {
				l = find(n)
			} else {
				l = union(l, n)
			}
		}
		if x > 0 {
			try(curRow[x-1])
		}
		if prevY == y-1 {
			if x > 0 {
				try(prevRow[x-1])
			}
			try(prevRow[x])
			if x+1 < w {
				try(prevRow[x+1])
			}
		}
		if l == 0 {
			l = int32(len(parent))
			parent = append(parent, l)
			labelCls = append(labelCls, c)
		}
		curRow[x] = l
		prov[i] = l
	}
	// Resolve: sizes and edge contact per root.
	size := make([]int, len(parent))
	nseed := make([]int, len(parent))
	edge := make([]bool, len(parent))
	for i, j := range idx {
		r := find(prov[i])
		prov[i] = r
		size[r]++
		if strong[i] {
			nseed[r]++
		}
		if keepEdge {
			x, y := int(j)%w, int(j)/w
			if x == 0 || y == 0 || x == w-1 || y == h-1 {
				edge[r] = true
			}
		}
	}
	final := make([]int32, len(parent))
	var comps []Component
	var sizes, seeds []int
	for r := 1; r < len(parent); r++ {
		if parent[r] == int32(r) && size[r] > 0 && (size[r] >= minPixels && nseed[r] > 0 || edge[r]) {
			comps = append(comps, Component{Label: int32(len(comps) + 1), MinCol: w, MinRow: h, MaxCol: -1, MaxRow: -1})
			sizes = append(sizes, size[r])
			seeds = append(seeds, nseed[r])
			final[r] = int32(len(comps))
		}
	}
	for i, j := range idx {
		nl := final[prov[i]]
		prov[i] = nl
		if nl == 0 {
			continue
		}
		c := &comps[nl-1]
		x, y := int(j)%w, int(j)/w
		c.MinCol, c.MaxCol = min(c.MinCol, x), max(c.MaxCol, x)
		c.MinRow, c.MaxRow = min(c.MinRow, y), max(c.MaxRow, y)
	}
	return prov, comps, sizes, seeds
}
