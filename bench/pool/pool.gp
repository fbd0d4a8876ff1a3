# SPDX-License-Identifier: MIT
# pool.gp — the secure pool benchmark chart (docs/bench/pool.png) from bench_pool's data file.
# gnuplot -e "data='pool.dat'" -e "out='pool.png'" pool.gp
if (!exists("data")) data = 'pool.dat'
if (!exists("out")) out = 'pool.png'
if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {
  set terminal pngcairo size 1500,520 font 'Sans,10'
} else {
  set terminal png size 1500,520
}
set output out
set multiplot layout 1,3 title 'rampart secure pool vs glibc malloc and secure allocators (medians, one run)'
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set xtics rotate by -30 scale 0
set grid ytics
set key top left

set title 'alloc+free pair cost, x glibc malloc (log scale, lower is better)'
set logscale y
set yrange [0.5:*]
plot data using 2:xtic(1) title '32 B', '' using 3 title '256 B', '' using 4 title '4096 B'

unset logscale y
set title '2 threads / 1 thread throughput (higher is better; 2 = perfect)'
set yrange [0:3]
set key top right
plot data using 5:xtic(1) title '32 B', '' using 6 title '256 B', '' using 7 title '4096 B', 1.6 with lines dt 2 lw 2 lc rgb 'black' title 'target 1.6x'

set key top left
set title 'locked bytes per live 32-byte secret, 10,000 live (log scale)'
set logscale y
set yrange [10:*]
plot data using ($8 > 0 ? $8 : 1/0):xtic(1) title 'VmLck / secret', 40 with lines dt 2 lw 2 lc rgb 'black' title 'target 40 B'
unset multiplot
