"""Measured mass spectra: two-column text and mzML, peak picking, envelope agreement.

mzML is read with the standard library (``xml.etree`` iterparse, base64 and zlib) rather
than pyteomics or pymzml: a spectrum needs only its two binary arrays and four controlled-
vocabulary terms (m/z array MS:1000514, intensity array MS:1000515, 32/64-bit float
MS:1000521/MS:1000523, zlib MS:1000574 / none MS:1000576, profile MS:1000128 / centroid
MS:1000127), and the parsers would add lxml and a few MB of dependencies for that.
Other compressions (MS-Numpress) are refused with a one-line error.
"""

import base64
from dataclasses import dataclass
import os
import zlib

import numpy as np

from ..errors import ClusterstructError


@dataclass
class Spectrum:
    """m/z [Da per charge] and intensity; ``kind`` is "profile" or "centroid"."""
    mz: np.ndarray
    intensity: np.ndarray
    kind: str
    source: str


def read_spectrum(path, *, kind=None, index=0):
    """Read a two-column text file (m/z, intensity) or an mzML file (spectrum number ``index``).

    ``kind`` ("profile" or "centroid") overrides what the file says; a text file counts as
    a profile when it has more than 200 points and its m/z spacing is regular within a
    factor of 10, else as a centroid list.
    """
    src = os.fspath(path)
    if not os.path.exists(src):
        raise ClusterstructError(f"{src}: no such spectrum file")
    if src.lower().endswith(".mzml"):
        mz, inten, file_kind = _read_mzml(src, index)
    else:
        mz, inten = _read_text(src)
        file_kind = None
    if kind is None:
        kind = file_kind or _guess_kind(mz)
    if kind not in ("profile", "centroid"):
        raise ClusterstructError(f"{src}: spectrum kind must be profile or centroid, got {kind!r}")
    order = np.argsort(mz)
    mz, inten = mz[order], inten[order]
    if not (np.all(np.isfinite(mz)) and np.all(np.isfinite(inten))):
        raise ClusterstructError(f"{src}: non-finite m/z or intensity values")
    return Spectrum(mz, inten, kind, src)


def _guess_kind(mz):
    if len(mz) <= 200:
        return "centroid"
    d = np.diff(np.sort(mz))
    d = d[d > 0]
    return "profile" if len(d) and np.percentile(d, 95) < 10 * np.median(d) else "centroid"


def _read_text(src):
    rows = []
    with open(src, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            s = line.strip()
            if not s or s[0] in "#;!%":
                continue
            parts = s.replace(",", " ").replace("\t", " ").split()
            try:
                vals = [float(x) for x in parts[:2]]
            except ValueError:
                continue  # header line
            if len(vals) == 2:
                rows.append(vals)
    if not rows:
        raise ClusterstructError(f"{src}: no m/z-intensity rows found (expected two numeric columns)")
    a = np.array(rows, float)
    return a[:, 0], a[:, 1]


_CV = {"MS:1000514": "mz", "MS:1000515": "intensity", "MS:1000521": "f4", "MS:1000523": "f8",
       "MS:1000574": "zlib", "MS:1000576": "none", "MS:1000127": "centroid", "MS:1000128": "profile"}


def _local(tag):
    return tag.rsplit("}", 1)[-1]


def _read_mzml(src, index):
    import xml.etree.ElementTree as ET
    k = -1
    try:
        for _, elem in ET.iterparse(src, events=("end",)):
            if _local(elem.tag) != "spectrum":
                continue
            k += 1
            if k < index:
                elem.clear()
                continue
            return _spectrum_arrays(src, elem)
    except ET.ParseError as exc:
        raise ClusterstructError(f"{src}: not valid mzML/XML ({exc})") from None
    raise ClusterstructError(f"{src}: no spectrum number {index} (found {k + 1})")


def _spectrum_arrays(src, spec):
    kind = None
    for cv in spec.iter():
        if _local(cv.tag) == "cvParam" and _CV.get(cv.get("accession")) in ("profile", "centroid"):
            kind = _CV[cv.get("accession")]
    arrays = {}
    for bda in spec.iter():
        if _local(bda.tag) != "binaryDataArray":
            continue
        what, dtype, comp = None, "f8", "none"
        for cv in bda:
            if _local(cv.tag) != "cvParam":
                continue
            acc = cv.get("accession")
            val = _CV.get(acc)
            if val in ("mz", "intensity"):
                what = val
            elif val in ("f4", "f8"):
                dtype = val
            elif val in ("zlib", "none"):
                comp = val
            elif acc and acc.startswith("MS:100261") or (cv.get("name") or "").startswith("MS-Numpress"):
                raise ClusterstructError(f"{src}: MS-Numpress compressed arrays are not supported")
        binary = next((c for c in bda if _local(c.tag) == "binary"), None)
        if what is None or binary is None:
            continue
        try:
            raw = base64.b64decode((binary.text or "").strip())
            if comp == "zlib":
                raw = zlib.decompress(raw)
            arrays[what] = np.frombuffer(raw, dtype="<" + dtype).astype(float)
        except (ValueError, zlib.error) as exc:
            raise ClusterstructError(f"{src}: cannot decode the {what} array ({exc})") from None
    if "mz" not in arrays or "intensity" not in arrays:
        raise ClusterstructError(f"{src}: spectrum has no m/z and intensity arrays")
    if len(arrays["mz"]) != len(arrays["intensity"]):
        raise ClusterstructError(f"{src}: m/z and intensity arrays differ in length")
    return arrays["mz"], arrays["intensity"], kind


def write_mzml(path, mz, intensity, *, kind="profile", compress=True):
    """Write one spectrum as a minimal mzML 1.1 file (64-bit floats, zlib or no compression)."""
    def arr(values, acc, name):
        raw = np.asarray(values, "<f8").tobytes()
        if compress:
            raw = zlib.compress(raw)
        text = base64.b64encode(raw).decode()
        ccv = ('<cvParam cvRef="MS" accession="MS:1000574" name="zlib compression"/>' if compress else
               '<cvParam cvRef="MS" accession="MS:1000576" name="no compression"/>')
        return (f'<binaryDataArray encodedLength="{len(text)}">'
                f'<cvParam cvRef="MS" accession="MS:1000523" name="64-bit float"/>{ccv}'
                f'<cvParam cvRef="MS" accession="{acc}" name="{name}"/><binary>{text}</binary></binaryDataArray>')
    kacc = ("MS:1000128", "profile spectrum") if kind == "profile" else ("MS:1000127", "centroid spectrum")
    n = len(mz)
    xml = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<mzML xmlns="http://psi.hupo.org/ms/mzml" version="1.1.0">\n'
        '<cvList count="1"><cv id="MS" fullName="Proteomics Standards Initiative Mass Spectrometry Ontology" '
        'URI="https://raw.githubusercontent.com/HUPO-PSI/psi-ms-CV/master/psi-ms.obo"/></cvList>\n'
        '<fileDescription><fileContent><cvParam cvRef="MS" accession="MS:1000294" name="mass spectrum"/>'
        '</fileContent></fileDescription>\n'
        '<softwareList count="1"><software id="clusterstruct" version="0"/></softwareList>\n'
        '<instrumentConfigurationList count="1"><instrumentConfiguration id="IC1"/></instrumentConfigurationList>\n'
        '<dataProcessingList count="1"><dataProcessing id="DP1"><processingMethod order="0" '
        'softwareRef="clusterstruct"/></dataProcessing></dataProcessingList>\n'
        '<run id="run1" defaultInstrumentConfigurationRef="IC1"><spectrumList count="1" '
        'defaultDataProcessingRef="DP1">\n'
        f'<spectrum index="0" id="scan=1" defaultArrayLength="{n}">'
        '<cvParam cvRef="MS" accession="MS:1000511" name="ms level" value="1"/>'
        f'<cvParam cvRef="MS" accession="{kacc[0]}" name="{kacc[1]}"/>'
        '<binaryDataArrayList count="2">'
        f'{arr(mz, "MS:1000514", "m/z array")}{arr(intensity, "MS:1000515", "intensity array")}'
        '</binaryDataArrayList></spectrum>\n'
        '</spectrumList></run>\n</mzML>\n')
    from .._atomicio import write_text_atomic
    write_text_atomic(os.fspath(path), xml)


def pick_peaks(spectrum, *, fwhm=None, min_relative_height=0.05, min_prominence=0.05):
    """Peak list (m/z, height) of a spectrum.

    Profile spectra: :func:`scipy.signal.find_peaks` with a prominence of at least
    ``min_prominence`` x the tallest point, then the intensity-weighted centroid over the
    points within half of ``fwhm`` of each maximum (``fwhm`` [Da per charge]: the envelope
    width; default the half-height width that :func:`scipy.signal.peak_widths` measures).
    Centroid spectra: the points at >= ``min_relative_height`` x the tallest.
    A spectrum without peaks is an error (one line naming the file).
    """
    from scipy.signal import find_peaks, peak_widths
    mz, y = spectrum.mz, spectrum.intensity
    if len(y) == 0 or not np.any(y > 0):
        raise ClusterstructError(f"{spectrum.source}: spectrum has no peaks (no positive intensity)")
    top = float(y.max())
    if spectrum.kind == "centroid":
        keep = y >= min_relative_height * top
        peaks = np.column_stack([mz[keep], y[keep]])
    else:
        idx, _ = find_peaks(y, prominence=min_prominence * top, height=min_relative_height * top)
        if len(idx) == 0:
            raise ClusterstructError(f"{spectrum.source}: no peaks found (prominence >= {min_prominence:g} x the "
                                     "tallest point)")
        widths = peak_widths(y, idx, rel_height=0.5)
        step = np.interp(idx, np.arange(len(mz)), np.gradient(mz))
        out = []
        for i, w_pts, st in zip(idx, widths[0], step):
            half = 0.5 * (fwhm if fwhm is not None else w_pts * st)
            sel = np.abs(mz - mz[i]) <= max(half, st)
            ww = np.clip(y[sel], 0, None)
            out.append((float(np.dot(ww, mz[sel]) / ww.sum()) if ww.sum() > 0 else float(mz[i]), float(y[i])))
        peaks = np.array(out)
    if len(peaks) == 0:
        raise ClusterstructError(f"{spectrum.source}: spectrum has no peaks")
    return peaks


def measured_fwhm(spectrum, mz0):
    """Half-height width [Da per charge] of the measured peak nearest ``mz0`` (profile spectra)."""
    from scipy.signal import find_peaks, peak_widths
    idx, _ = find_peaks(spectrum.intensity)
    if len(idx) == 0:
        return None
    i = idx[np.argmin(np.abs(spectrum.mz[idx] - mz0))]
    w = peak_widths(spectrum.intensity, [i], rel_height=0.5)[0][0]
    return float(w * np.gradient(spectrum.mz)[i])


def cosine(env, spectrum, *, resolving_power=None, fwhm=None):
    """Cosine similarity of the broadened envelope with the measured spectrum over the envelope.

    The region is the envelope's isotopic peaks +- 3 instrument FWHM; the instrument FWHM is
    ``fwhm`` or m/z / ``resolving_power``, else the measured width of the nearest peak minus
    (in quadrature) the envelope's own width.  1 = same shape, 0 = no overlap.
    """
    from .envelopes import instrument_fwhm
    w = instrument_fwhm(env.most_abundant, resolving_power=resolving_power, fwhm=fwhm)
    if w is None:
        if spectrum.kind != "profile":
            w = 0.1
        else:
            wm = measured_fwhm(spectrum, env.most_abundant) or 0.1
            own = 2.3548 * env.sigma
            w = float(np.sqrt(max(wm ** 2 - own ** 2, (0.05 * wm) ** 2)))
    lo, hi = env.mz[0] - 3 * w, env.mz[-1] + 3 * w
    sel = (spectrum.mz >= lo) & (spectrum.mz <= hi)
    if sel.sum() < 3:
        return float("nan")
    _, model = env.profile(spectrum.mz[sel], fwhm=w)
    meas = np.clip(spectrum.intensity[sel], 0, None)
    den = np.linalg.norm(model) * np.linalg.norm(meas)
    return float(np.dot(model, meas) / den) if den > 0 else float("nan")
