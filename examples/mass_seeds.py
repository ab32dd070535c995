"""Mass-spectrum assignments of the source papers, recomputed with clusterstruct.mass.

Prints markdown tables: every bare Zn_a Se_b within 10 Da of the ~3350 Da MALDI peak (z = 1,
radical cation) and those that survive the XPS/EDS ratio Zn2Se1 (±0.2); the bare (CdSe)13/33/34
masses against the LDI-MS peaks 2488.57 / 6314.7 / 6506.5; Cd37S20, bare and with ligands,
against the CdS MALDI peaks 5160 and 5166.7 Da; the Cd7Te1Se3 and Cd6Te2Se3 ESI fragments.

    python examples/mass_seeds.py
"""

from clusterstruct.mass import envelope, search


def row(*cells):
    print("| " + " | ".join(str(c) for c in cells) + " |")


def nearest(matches, n=None):
    out = sorted(matches, key=lambda x: abs(x.delta_Da))[:n]
    return ", ".join(f"{x.formula} ({x.delta_Da:+.1f}{'' if x.matched_on == 'most-abundant' else ', in envelope'})"
                     for x in out)


def main():
    print("### ZnSe: ~3350 Da (MALDI-TOF), tolerance 10 Da, z = 1\n")
    print("`clusterstruct mass --mz 3350 --tolerance 10 --elements Zn,Se [--ratio Zn:Se=2:1±0.2]`\n")
    row("constraint", "compositions (delta = peak - most-abundant m/z, Da)")
    row("---", "---")
    for label, ratios in (("none (bare Zn/Se cores)", []), ("Zn:Se = 2:1 ± 0.2 (XPS/EDS Zn2Se1)", ["Zn:Se=2:1±0.2"])):
        m, _ = search(3350, "Zn,Se", tolerance=10, ratios=ratios)
        row(label, nearest(m))
    e15 = envelope("Zn32Se15", charge=1)
    print(f"\nZn32Se15 (the composition assumed in the later paper): average {e15.average:.2f}, most-abundant "
          f"{e15.most_abundant:.2f} Da, {3350 - e15.most_abundant:+.1f} Da from the peak: outside ±10 Da.\n")

    print("### CdSe bare cores against LDI-MS peaks (z = 1)\n")
    print("`clusterstruct mass --mz 2488.57 6314.7 6506.5 --tolerance 2 --elements Cd,Se --stoichiometry stoichiometric`\n")
    row("cluster", "peak (m/z)", "monoisotopic", "average", "most-abundant", "peak - average", "peak - most-abundant")
    row("---", "---", "---", "---", "---", "---", "---")
    for n, peak in ((13, 2488.57), (33, 6314.7), (34, 6506.5)):
        e = envelope({"Cd": n, "Se": n}, charge=1)
        row(f"(CdSe){n}", peak, f"{e.monoisotopic:.2f}", f"{e.average:.2f}", f"{e.most_abundant:.2f}",
            f"{peak - e.average:+.2f}", f"{peak - e.most_abundant:+.2f}")

    print("\n### CdS: Cd37S20 against 5160 and 5166.7 Da (z = 1, tolerance 10 Da)\n")
    print("`clusterstruct mass --mz 5160 5166.7 --tolerance 10 --elements Cd:37-37,S:20-20 --ligands LIGANDS`\n")
    bare = envelope("Cd37S20", charge=1)
    row("ligands allowed", "peak", "matches", "nearest (delta, Da)")
    row("---", "---", "---", "---")
    for ligs in ("none", "acetate:0-40", "oleate:0-40", "oleate:0-40,acetate:0-40,octylamine:0-10,oleylamine:0-10,TOP:0-5"):
        for peak in (5160.0, 5166.7):
            m, _ = search(peak, "Cd:37-37,S:20-20", tolerance=10, ligands=ligs)
            row(f"`{ligs}`", peak, len(m), nearest(m, 3) or f"nothing fits (bare core {bare.most_abundant:.1f}, "
                                                           f"{peak - bare.most_abundant:+.1f} Da)")
    m, _ = search(5160.0, "Cd,S", tolerance=10, stoichiometry="metal-rich")
    row("none, any metal-rich Cd/S core (`--elements Cd,S --stoichiometry metal-rich`)", 5160.0, len(m), nearest(m, 3))

    print("\n### CdTeSe ESI fragments (z = 1)\n")
    print("`clusterstruct mass --mz 1151.98 --tolerance 0.5 --elements Cd:6-8,Te:1-2,Se:1-4 --basis most-abundant` "
          "finds Cd7Se3Te\n")
    row("fragment", "monoisotopic", "average", "most-abundant")
    row("---", "---", "---", "---")
    for f in ("Cd7Te1Se3", "Cd6Te2Se3"):
        e = envelope(f, charge=1)
        row(f, f"{e.monoisotopic:.2f}", f"{e.average:.2f}", f"{e.most_abundant:.2f}")


if __name__ == "__main__":
    main()
