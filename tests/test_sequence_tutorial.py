"""Tutorial 10 (sequence models) runs end to end in its quick mode and prints the claims it asserts."""
def test_sequence_tutorial_runs_quick_and_asserts_its_claims(run_tutorial, monkeypatch):
    monkeypatch.setenv("NN_SCRATCH_QUICK", "1")           # fewer training steps; every claim still asserted
    out, figures = run_tutorial("10_sequence_models.py", timeout=300)
    assert "every new layer passes" in out
    assert "the planted bug is caught (WRONG)" in out
    assert "start at 6.02 bits and end more than 1 bit lower" in out
    assert "no weight falls on a later character" in out
    for name in ("10_gradient_vs_distance.png", "10_exploding_and_clipping.png", "10_bits_per_character.png",
                 "10_attention_heads.png"):
        assert (figures / name).stat().st_size > 10_000, name
