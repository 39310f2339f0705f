#!/usr/bin/env bash
# Installs what the tests need: the package with its test extras; Debian's chromium for the browser tests
# (Playwright's own browser download does not work offline); Debian's Tesseract with its Lao and English
# data for scanned reports, and a Lao font (fonts-lao) to draw the test scans with.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q -e '.[test]'
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
command -v tesseract >/dev/null 2>&1 || missing+=(tesseract-ocr)
for data in lao eng; do
  [ -n "$(find /usr/share/tesseract-ocr -name "$data.traineddata" 2>/dev/null)" ] || missing+=("tesseract-ocr-$data")
done
[ -f /usr/share/fonts/truetype/lao/Phetsarath_OT.ttf ] || missing+=(fonts-lao)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
