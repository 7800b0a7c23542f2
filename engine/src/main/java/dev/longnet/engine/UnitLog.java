package dev.longnet.engine;

import dev.longnet.storage.RowWindow;
import java.io.IOException;

/**
 * What a resumable run records about its {@link Schedule.Unit units}. {@link DilatedAttention} asks, before each
 * unit, whether an earlier run finished it (it is then skipped), and reports the start and the end of each unit it
 * runs, with the unit's out and lse rows mapped. In-memory use needs none: {@link #NONE} runs every unit and
 * records nothing.
 */
public interface UnitLog {
    UnitLog NONE = new UnitLog() {
        @Override public long completed(Schedule.Unit unit) { return -1; }
        @Override public void begin(Schedule.Unit unit, RowWindow out, RowWindow lse) { }
        @Override public void end(Schedule.Unit unit, long tiles, RowWindow out, RowWindow lse) { }
    };

    /** The tiles the unit ran if an earlier run completed it (it is skipped), or -1 when it must run. */
    long completed(Schedule.Unit unit);

    /** Called before the unit writes to its rows. */
    void begin(Schedule.Unit unit, RowWindow out, RowWindow lse) throws IOException;

    /** Called after the unit's last write, before its windows are unmapped. */
    void end(Schedule.Unit unit, long tiles, RowWindow out, RowWindow lse) throws IOException;
}
