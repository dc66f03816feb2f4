# Plots the demo's training curve: gnuplot -e "in='curve.tsv'; out='curve.png'" scripts/plot_curve.gp
set terminal pngcairo size 900,500 font ",10"
set output out
set title "hgc: Fashion-MNIST MLP (784-256-128-10), hybridized training"
set xlabel "epoch"
set ylabel "loss"
set y2label "accuracy"
set ytics nomirror
set y2tics
set y2range [0.7:1.0]
set grid
set key bottom center
plot in using 1:2 with linespoints lw 2 title "train loss" axes x1y1, \
     in using 1:3 with linespoints lw 2 title "train accuracy" axes x1y2, \
     in using 1:4 with linespoints lw 2 title "test accuracy" axes x1y2
