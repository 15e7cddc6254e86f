#!/usr/bin/env bash
# The main job on the bundled example recording (examples/recording.nwb, made by examples/make_recording.py):
# NWB -> HDF5 ragged -> KiloSort/Phy -> NWB, with the summaries and the loss reports along the way.
# Run by `make demo` with the project's environment on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
out=demo-output
rm -rf "$out" && mkdir -p "$out"

# bold command lines on a terminal only: no raw escape codes in a log or a pipe
if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
step() { printf '\n%s$ %s%s\n' "$bold" "$*" "$plain"; "$@"; }

step hub --version
step hub formats --kind spikes
step hub info examples/recording.nwb
step hub convert examples/recording.nwb "$out/recording.h5" --style ragged --report "$out/1-nwb-to-hdf5.json"
step hub convert "$out/recording.h5" "$out/recording_phy" --to phy --report "$out/2-hdf5-to-phy.json"
step hub convert "$out/recording_phy" "$out/roundtrip.nwb" --report "$out/3-phy-to-nwb.json"
step hub info "$out/roundtrip.nwb"
step hub validate "$out/recording.h5" "$out/recording_phy" "$out/roundtrip.nwb"

printf '\n%sloss reports%s\n' "$bold" "$plain"
python - "$out" <<'PY'
import json, pathlib, sys
for report in sorted(pathlib.Path(sys.argv[1]).glob("*.json")):
    data = json.loads(report.read_text())
    losses = data.get("losses") or []
    print(f"{report.name}: {data['source']['format']} -> {data['target']['format']}, "
          f"{data['counts']['units']} units, {data['counts']['spikes']} spikes, {data['duration_seconds']:.2f} s")
    for loss in losses or [{"field": "nothing", "reason": "lossless"}]:
        count = f" ({loss['count']})" if loss.get("count") is not None else ""
        print(f"    lost {loss['field']}{count}: {loss['reason']}")
PY
printf '\n%squick-look pictures of every kind%s\n' "$bold" "$plain"
step python examples/make_examples.py "$out/examples"
mkdir -p "$out/previews"
step hub preview examples/recording.nwb -o "$out/previews/spikes.png"
step hub extract "$out/examples/sub-01_space-MNI152NLin6Asym_desc-FA_dwimap.nii.gz" \
    "$out/examples/atlas-toy100_dseg.nii.gz" --lut "$out/examples/atlas-toy100_dseg.tsv" --scalar-name FA \
    -o "$out/examples/sub-01_atlas-toy100_param-FA_diffmap.tsv"
for pair in regions:sub-01_atlas-toy100_param-FA_diffmap.tsv connectivity:sub-01_atlas-toy100_conn.tsv \
    lesion-mask:sub-01_space-MNI152NLin6Asym_res-2_label-infarct_mask.nii.gz surface:lh.pial.vtp \
    spectral:lh_spectral.h5 tractogram:callosal.tck; do
    step hub preview "$out/examples/${pair#*:}" -o "$out/previews/${pair%%:*}.png"
done

printf '\n%san HTML report of the example dataset (open it in a browser)%s\n' "$bold" "$plain"
step hub validate "$out/examples" --format html --output "$out/report.html"

printf '\ndemo finished: outputs in %s/ (pictures in %s/previews/, the report in %s/report.html)\n' \
    "$out" "$out" "$out"
