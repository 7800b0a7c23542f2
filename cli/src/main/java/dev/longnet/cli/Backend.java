package dev.longnet.cli;

/** --backend: where attention runs. Only the CPU engine exists so far; auto picks it. */
public enum Backend {
    AUTO, CPU, CUDA;

    /** The backend that will run, by name; fails (exit 1) for one this build cannot provide. */
    public String resolve() {
        if (this == CUDA) throw new Failure("--backend cuda: no CUDA backend available in this build/machine");
        return "cpu";
    }
}
