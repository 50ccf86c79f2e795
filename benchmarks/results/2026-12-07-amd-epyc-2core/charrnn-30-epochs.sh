#!/bin/bash
# The main job's default run (30 epochs), quiet and beside two spinning processes, in a session at autogroup niceness -10.
echo -10 > /proc/self/autogroup
while pgrep -f /tmp/i19/peers.sh > /dev/null; do sleep 10; done
cd /work/i19
bin=samples/CharRnn/bin/Release/net10.0/CharRnn
out=/tmp/i19/charrnn
mkdir -p $out
{
echo "quiet start $(date -u +%H:%M:%S) load $(cat /proc/loadavg)"
timeout 900 $bin --output $out/quiet | tail -4
echo "quiet end $(date -u +%H:%M:%S) load $(cat /proc/loadavg)"
spin='import os, sys, time
end = time.time() + 900
parent = os.getppid()
while time.time() < end and os.getppid() == parent:
    pass'
/usr/bin/python3 -c "$spin" & s1=$!
/usr/bin/python3 -c "$spin" & s2=$!
sleep 1
echo "loaded start $(date -u +%H:%M:%S) load $(cat /proc/loadavg)"
timeout 900 $bin --output $out/loaded | tail -4
echo "loaded end $(date -u +%H:%M:%S) load $(cat /proc/loadavg)"
kill $s1 $s2
} > /tmp/i19/charrnn-full.txt 2>&1
