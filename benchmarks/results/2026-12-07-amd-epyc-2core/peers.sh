#!/bin/bash
# Runs the peer comparisons one after another, in a session of its own at autogroup niceness -10.
echo -10 > /proc/self/autogroup
cd /work/i19
out=/tmp/i19/peers
mkdir -p $out
for cell in rnn lstm gru; do
  configs=S,M,L; [ $cell = rnn ] && configs=S,M,L,XL
  echo "start $cell $(date -u +%H:%M) load $(cat /proc/loadavg)" > $out/$cell.txt
  timeout 1500 /usr/bin/python3 benchmarks/compare_with_peers.py --configs $configs --rounds 2 --iters 10 --cell $cell >> $out/$cell.txt 2>&1
  echo "end $cell $(date -u +%H:%M) load $(cat /proc/loadavg)" >> $out/$cell.txt
done
