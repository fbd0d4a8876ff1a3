# SPDX-License-Identifier: MIT
# pool.gp — the secure pool benchmark chart (docs/bench/pool.png) from bench_pool's data file,
# whose blocks are: 0 pair cost / floor by size, 1 and 2 speed-up by thread count (32-byte pairs,
# mixed pattern), 3 locked bytes per live 32-byte secret; '?' marks a value that is missing.
# gnuplot -e "data='pool.dat'" -e "out='pool.png'" pool.gp
if (!exists("data")) data = 'pool.dat'
if (!exists("out")) out = 'pool.png'
if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {
  set terminal pngcairo size 1500,1000 font 'Sans,10'
} else {
  set terminal png size 1500,1000
}
set output out
set datafile missing '?'
stats data index 0 skip 1 nooutput
n = STATS_columns
set multiplot layout 2,2 title 'rampart secure pool vs the floor (malloc + explicit\_bzero), glibc malloc and secure allocators (medians, one interleaved run)'
set grid
set key outside right top

set title 'alloc+free pair cost, x the floor (log scales, lower is better; gaps: refused)'
set logscale xy 2
set format x '%.0b%B'
set xlabel 'bytes'
plot for [i=2:n] data index 0 using 1:i with linespoints lw 2 title columnheader(i), \
     1.5 with lines dt 2 lw 2 lc rgb 'black' title 'target 1.5x'
unset logscale
set format x '%g'
set xlabel 'threads'
set yrange [0:*]

set title 'speed-up over one thread: 32-byte pairs (higher is better)'
plot for [i=2:n] data index 1 using 1:i with linespoints lw 2 title columnheader(i), x with lines dt 2 lc rgb 'black' title 'perfect'

set title 'speed-up over one thread: mixed pattern, cross-thread frees'
plot for [i=2:n] data index 2 using 1:i with linespoints lw 2 title columnheader(i), x with lines dt 2 lc rgb 'black' title 'perfect'

unset logscale
set xlabel ''
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set xtics rotate by -30 scale 0
set logscale y
set yrange [10:*]
set key inside top left
set title 'locked bytes per live 32-byte secret, 10,000 live (log scale)'
plot data index 3 using 2:xtic(1) title 'VmLck / secret', 40 with lines dt 2 lw 2 lc rgb 'black' title 'target 40 B'
unset multiplot
