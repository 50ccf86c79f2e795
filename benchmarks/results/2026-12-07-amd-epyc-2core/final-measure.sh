#!/bin/bash
# Final quiet measurements: paired A/B of edef6c7 (session start) vs the final main, peers, CharRnn quiet and loaded.
echo -10 > /proc/self/autogroup 2>/dev/null
out=/work/notes/results; mkdir -p $out
cd /work/final
A=/work/memA/benchmarks/RnnCore.Benchmarks/bin/Release/net10.0/RnnCore.Benchmarks
B=/work/final/benchmarks/RnnCore.Benchmarks/bin/Release/net10.0/RnnCore.Benchmarks
{
echo "# $(date -u '+%F %H:%M:%S') UTC start, load $(cat /proc/loadavg)"
echo "# python3 benchmarks/compare_builds.py A(edef6c7) B($(git rev-parse --short HEAD)) --configs S,M,L,XL --cells rnn,lstm,gru --rounds 2 --iters 10"
/usr/bin/python3 benchmarks/compare_builds.py $A $B --configs S,M,L,XL --cells rnn,lstm,gru --rounds 2 --iters 10
echo "# $(date -u '+%F %H:%M:%S') UTC end, load $(cat /proc/loadavg)"
} > $out/ab.txt 2>&1
for cell in rnn lstm gru; do
  configs=S,M,L
  { echo "start $cell $(date -u +%H:%M:%S) load $(cat /proc/loadavg)"
    timeout 600 /usr/bin/python3 benchmarks/compare_with_peers.py --configs $configs --rounds 1 --iters 10 --cell $cell --skip-torchsharp
    echo "end $cell $(date -u +%H:%M:%S) load $(cat /proc/loadavg)"; } > $out/peers-$cell.txt 2>&1
done
bin=samples/CharRnn/bin/Release/net10.0/CharRnn
{
echo "quiet start $(date -u +%H:%M:%S) load $(cat /proc/loadavg)"
timeout 600 $bin --output /tmp/charrnn-quiet | tail -4
echo "quiet end $(date -u +%H:%M:%S) load $(cat /proc/loadavg)"
spin='import os, sys, time
end = time.time() + 600
parent = os.getppid()
while time.time() < end and os.getppid() == parent:
    pass'
/usr/bin/python3 -c "$spin" & s1=$!
/usr/bin/python3 -c "$spin" & s2=$!
sleep 1
echo "loaded start $(date -u +%H:%M:%S) load $(cat /proc/loadavg)"
timeout 600 $bin --output /tmp/charrnn-loaded | tail -4
echo "loaded end $(date -u +%H:%M:%S) load $(cat /proc/loadavg)"
kill $s1 $s2
} > $out/charrnn.txt 2>&1
echo done > $out/DONE
