package dev.longnet.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The scaling harness at tiny sizes: it runs child JVMs and writes parseable CSV, JSON, markdown and a chart. */
class ScaleCommandTest {
    @TempDir
    Path dir;

    @Test
    void tinyRunWritesEveryOutput() throws Exception {
        int exit = new CommandLine(new BenchMain()).execute("scale", "--min-n", "2^10", "--max-n", "2^12", "--step", "4",
                "--heads", "2", "--head-dim", "8", "--segments", "256,512", "--dilations", "1,2", "--causal", "--peak-gflops", "100",
                "--dense-max-seconds", "30", "--results", dir.toString());
        assertEquals(0, exit);
        List<String> csv = Files.readAllLines(dir.resolve("scale.csv"));
        assertEquals(ScalePoint.CSV_HEADER, csv.get(0));
        assertEquals(5, csv.size(), "dilated and dense at 2^10 and 2^12: " + csv);
        for (String row : csv.subList(1, csv.size())) {
            String[] cells = row.split(",");
            assertEquals(10, cells.length, row);
            assertTrue(cells[0].equals("dilated") || cells[0].equals("dense"), row);
            assertTrue(Double.parseDouble(cells[3]) > 0, "tokens/s in " + row);
            assertTrue(Long.parseLong(cells[7]) > 0, "peak RSS in " + row);
        }
        String json = Files.readString(dir.resolve("scale.json"));
        assertTrue(json.startsWith("{\"config\":") && json.contains("\"points\":[{") && json.trim().endsWith("]}"), json);
        assertTrue(json.startsWith("{\"config\":{\"segments\":[256,512],\"dilations\":[1,2],\"heads\":2,\"headDim\":8,"
                + "\"causal\":true,"), "the config as an object: " + json);
        String svg = Files.readString(dir.resolve("scale.svg"));
        assertTrue(svg.startsWith("<svg") && svg.contains("<polyline") && svg.trim().endsWith("</svg>"));
        assertTrue(Files.readString(dir.resolve("scale.md")).contains("| dilated | 2^12 |"));
        assertTrue(Files.notExists(dir.resolve("data").resolve("n1024")), "generated files are removed after each N");
    }
}
