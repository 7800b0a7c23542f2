package dev.longnet.cli;

import picocli.CommandLine.Command;

/** longnet slide: whole-slide encoders. */
@Command(name = "slide", description = "Whole-slide encoders (Prov-GigaPath's LongNetViT): 'slide embed' embeds slides.",
        subcommands = {SlideEmbedCommand.class})
final class SlideCommand extends BaseCommand {
    @Override
    protected int execute() {
        throw usage("a subcommand is needed: embed");
    }
}
