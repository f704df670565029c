#compdef linexplain

_linexplain_completion() {
  eval $(env _TYPER_COMPLETE_ARGS="${words[1,$CURRENT]}" _LINEXPLAIN_COMPLETE=complete_zsh linexplain)
}

compdef _linexplain_completion linexplain
